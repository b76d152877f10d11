// Drives a VCH with dockerode and prints what it saw as one JSON object.
//
// Run by simulator-tests/clients_test.go (TestDockerode), which starts the VCH, sets DOCKER_HOST and
// VICE_REGISTRY (the registry holding busybox), and asserts on the report. Each step records its result, or
// the error it met, under its own key, so that one failure does not hide the others.
'use strict';

const { Writable } = require('stream');
const Docker = require('dockerode');

const docker = new Docker(); // DOCKER_HOST, as the docker CLI reads it
const registry = process.env.VICE_REGISTRY;
const busybox = registry + '/busybox';
const report = { dockerode: require('dockerode/package.json').version };

async function step(key, fn) {
  try {
    report[key] = await fn();
  } catch (e) {
    report[key] = { error: e.json && e.json.message ? e.json.message : String(e.message || e), status: e.statusCode };
  }
}

// collect is a writable stream that keeps what is written to it.
function collect() {
  const chunks = [];
  const w = new Writable({ write(chunk, _enc, cb) { chunks.push(Buffer.from(chunk)); cb(); } });
  w.text = () => Buffer.concat(chunks).toString();
  return w;
}

// demux splits a multiplexed log buffer (8-byte headers) into stdout and stderr.
function demux(buf) {
  const out = { stdout: '', stderr: '' };
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    const text = buf.subarray(i + 8, i + 8 + size).toString();
    if (buf[i] === 2) out.stderr += text; else out.stdout += text;
    i += 8 + size;
  }
  return out;
}

async function main() {
  await step('ping', async () => (await docker.ping()).toString());
  await step('version', async () => {
    const v = await docker.version();
    return { ApiVersion: v.ApiVersion, MinAPIVersion: v.MinAPIVersion };
  });
  const since = Math.floor(Date.now() / 1000) - 1;

  await step('pull', async () => {
    const stream = await docker.pull(busybox + ':latest');
    const events = await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
    return events[events.length - 1].status;
  });
  await step('tag', async () => {
    await docker.getImage(busybox).tag({ repo: registry + '/nodetagged', tag: 'v1' });
    return (await docker.getImage(registry + '/nodetagged:v1').inspect()).RepoTags.sort();
  });
  await step('images', async () => (await docker.listImages()).flatMap((i) => i.RepoTags || []).sort());

  // docker.run attaches, starts and waits, as `docker run` does; given two streams, it demultiplexes.
  await step('run', async () => {
    const out = collect();
    const err = collect();
    const [result, container] = await docker.run(busybox, ['sh', '-c', 'echo hi; echo oops >&2'], [out, err], { Tty: false });
    await container.remove();
    return { status: result.StatusCode, stdout: out.text(), stderr: err.text() };
  });

  await step('lifecycle', async () => {
    const c = await docker.createContainer({
      Image: busybox, name: 'node-lifecycle', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
    });
    await c.start();
    const wait = await c.wait();
    const logs = demux(await c.logs({ stdout: true, stderr: true }));
    const info = await c.inspect();
    await c.remove({ v: false, force: false });
    const left = (await docker.listContainers({ all: true })).filter((x) => x.Names.includes('/node-lifecycle'));
    return { wait: wait.StatusCode, logs, status: info.State.Status, left: left.length };
  });

  await step('prune', async () => {
    const c = await docker.createContainer({ Image: busybox, name: 'node-prune', Cmd: ['true'] });
    return { created: c.id, report: await docker.pruneContainers() };
  });
  await step('volumes', async () => {
    // dockerode's volume API: create (VIC's Capacity), a container writing and one reading read-only through
    // Binds, list by label, inspect, remove.
    await docker.createVolume({ Name: 'nodevol', Driver: 'vsphere', DriverOpts: { Capacity: '256MB' }, Labels: { sdk: 'node' } });
    const runWith = async (bind, cmd) => {
      const out = collect();
      const [result, container] = await docker.run(busybox, ['sh', '-c', cmd], [out, collect()], { Tty: false, HostConfig: { Binds: [bind] } });
      await container.remove();
      return { status: result.StatusCode, out: out.text() };
    };
    const wrote = await runWith('nodevol:/v', 'echo data > /v/f && cat /v/f');
    const read = await runWith('nodevol:/v:ro', 'cat /v/f; touch /v/g || echo read-only');
    const listed = (await docker.listVolumes({ filters: { label: ['sdk=node'] } })).Volumes.map((v) => v.Name);
    const info = await docker.getVolume('nodevol').inspect();
    await docker.getVolume('nodevol').remove();
    let gone;
    try {
      await docker.getVolume('nodevol').inspect();
      gone = 'found';
    } catch (e) {
      gone = { status: e.statusCode, message: e.json && e.json.message };
    }
    return { wrote, read, listed, driver: info.Driver, capacity: info.Options.Capacity, gone };
  });
  await step('df', async () => {
    const df = await docker.df();
    return Object.fromEntries(Object.entries(df).map(([k, v]) => [k, Array.isArray(v) ? v.length : v]));
  });
  await step('events', async () => {
    const stream = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { type: ['container'] } });
    const text = await new Promise((resolve, reject) => {
      const chunks = [];
      stream.on('data', (d) => chunks.push(d));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
      stream.on('error', reject);
    });
    return [...new Set(text.split('\n').filter(Boolean).map((l) => JSON.parse(l).Action))].sort();
  });
  await step('not_found', async () => {
    try {
      await docker.getContainer('no-such-container').inspect();
      return 'found';
    } catch (e) {
      return { status: e.statusCode, message: e.json && e.json.message };
    }
  });
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
