"""Drives a VCH with the Docker SDK for Python and prints what it saw as one JSON object.

Run by simulator-tests/clients_test.go (TestPythonSDK), which starts the VCH, sets DOCKER_HOST and
VICE_REGISTRY (the registry holding busybox), and asserts on the report. Each step records its result, or
the error it met, under its own key, so that one failure does not hide the others.
"""

import io
import json
import os
import sys
import tarfile
import time

import docker


def main():
    client = docker.from_env(timeout=120)
    registry = os.environ["VICE_REGISTRY"]
    busybox = registry + "/busybox"
    report = {"sdk": docker.__version__}

    def step(key, fn):
        try:
            report[key] = fn()
        except docker.errors.APIError as e:
            report[key] = {"error": e.explanation, "status": e.status_code}
        except Exception as e:  # noqa: BLE001 - the report names any failure
            report[key] = {"error": "%s: %s" % (type(e).__name__, e)}

    step("ping", client.ping)
    step("version", lambda: {k: client.version()[k] for k in ("ApiVersion", "MinAPIVersion")})
    since = int(time.time()) - 1

    image = client.images.pull(busybox, tag="latest")
    report["pull"] = {"id": image.id, "tags": image.tags}
    step("tag", lambda: image.tag(registry + "/pytagged", "v1"))
    step("tagged", lambda: sorted(client.images.get(registry + "/pytagged:v1").tags))
    step("images", lambda: sorted(t for i in client.images.list() for t in i.tags))

    # containers.run reads the output from the logs (it checks the log driver first) and removes the container.
    step("run", lambda: client.containers.run(busybox, "echo hi", remove=True).decode())

    def lifecycle():
        script = "echo out; echo err >&2; echo out2; echo err2 >&2; exit 3"
        c = client.containers.create(busybox, ["sh", "-c", script], name="py-lifecycle")
        c.start()
        out = {"wait": c.wait(timeout=60)}
        out["logs"] = c.logs().decode()
        out["stdout"] = c.logs(stderr=False).decode()
        out["stderr"] = c.logs(stdout=False).decode()
        c.reload()
        out["status"] = c.status
        out["log_driver"] = c.attrs["HostConfig"]["LogConfig"]["Type"]
        c.remove()  # DELETE ...?v=False&link=False&force=False
        out["left"] = [x.name for x in client.containers.list(all=True) if x.name == "py-lifecycle"]
        return out

    step("lifecycle", lifecycle)

    def prune():
        c = client.containers.create(busybox, "true", name="py-prune")
        keep = client.containers.create(busybox, "true", name="py-keep", labels={"keep": "yes"})
        rep = client.containers.prune(filters={"label!": "keep"})
        keep.remove()
        return {"created": c.id, "report": rep}

    step("prune", prune)
    def volumes():
        # The SDK's volume API: a named volume (Docker's default driver name, VIC's Capacity), used read-write
        # then read-only, listed by label, inspected, removed; an anonymous one left by a container, pruned.
        v = client.volumes.create(name="pyvol", driver="local", driver_opts={"Capacity": "512MB"}, labels={"sdk": "python"})
        wrote = client.containers.run(busybox, ["sh", "-c", "echo data > /v/f && cat /v/f"],
                                      volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
        read = client.containers.run(busybox, ["sh", "-c", "cat /v/f; touch /v/g || echo read-only"], volumes=["pyvol:/v:ro"], remove=True)
        listed = [x.name for x in client.volumes.list(filters={"label": "sdk=python"})]
        attrs = client.volumes.get("pyvol").attrs
        v.remove()
        c = client.containers.create(busybox, "true", volumes=["/anon"])
        anon = c.attrs["Mounts"][0]["Name"]
        c.remove()
        pruned = client.volumes.prune()
        return {"wrote": wrote.decode(), "read": read.decode(), "listed": listed, "driver": attrs["Driver"],
                "options": attrs["Options"], "anonymous": anon, "pruned": pruned.get("VolumesDeleted") or [],
                "left": [x.name for x in client.volumes.list()]}

    step("volumes", volumes)
    step("df", lambda: {k: (len(v) if isinstance(v, list) else v) for k, v in client.df().items()})

    def events():
        until = int(time.time()) + 1
        seen = client.events(since=since, until=until, decode=True, filters={"type": "container"})
        return sorted({e["Action"] for e in seen})

    step("events", events)

    def not_found():
        try:
            client.containers.get("no-such-container")
        except docker.errors.NotFound as e:
            return {"status": e.status_code, "message": e.explanation}
        return "found"

    step("not_found", not_found)

    def swarm_leave():
        # With force the SDK takes dockerd's 503 "not part of a swarm" as success (its tests' teardowns
        # rely on it); without force it raises it.
        out = {"forced": client.swarm.leave(force=True)}
        try:
            client.swarm.leave()
        except docker.errors.APIError as e:
            out.update(status=e.status_code, message=e.explanation)
        return out

    step("swarm_leave", swarm_leave)

    def files():
        # put_archive, get_archive, diff and commit on a running container.
        c = client.containers.run(busybox, ["sh", "-c", "echo hello > /greeting; mkdir /made; while :; do sleep 1; done"],
                                  detach=True, name="py-files")
        try:
            for _ in range(100):
                try:
                    c.get_archive("/made")
                    break
                except docker.errors.NotFound:
                    time.sleep(0.1)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tf:
                body = b"from python\n"
                info = tarfile.TarInfo("in/f")
                info.size, info.mode = len(body), 0o640
                tf.addfile(info, io.BytesIO(body))
            out = {"put": c.put_archive("/tmp", buf.getvalue())}
            stream, stat = c.get_archive("/tmp/in")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tf:
                names = tf.getnames()
                content = tf.extractfile("in/f").read().decode()
            out["get"] = {"name": stat["name"], "dir": bool(stat["mode"] & (1 << 31)), "names": names, "f": content}
            try:
                c.get_archive("/nope")
                out["missing"] = "found"
            except docker.errors.NotFound as e:
                out["missing"] = {"status": e.status_code, "message": e.explanation}
            out["diff"] = ["%d %s" % (d["Kind"], d["Path"]) for d in c.diff()]
            img = c.commit(repository="pycommitted", tag="v1", changes=['CMD ["cat","/greeting"]'], message="from python")
            out["commit"] = {"id": img.id, "run": client.containers.run("pycommitted:v1", remove=True).decode(),
                             "comment": img.history()[0]["Comment"]}
            return out
        finally:
            c.remove(force=True)

    step("files", files)

    def running():
        c = client.containers.run(busybox, ["sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done"],
                                  detach=True, name="py-running")
        out = {}
        code, output = c.exec_run("echo hi")
        out["exec_run"] = [code, output.decode()]
        code, output = c.exec_run(["sh", "-c", "echo $A; exit 3"], environment={"A": "b"})
        out["exec_run_env"] = [code, output.decode()]
        s = c.stats(stream=False)
        out["stats"] = {"memory": s["memory_stats"].get("usage", 0), "limit": s["memory_stats"].get("limit", 0),
                        "cpu": s["cpu_stats"]["cpu_usage"]["total_usage"],
                        "precpu": s["precpu_stats"]["cpu_usage"].get("total_usage", 0)}
        top = c.top()
        out["top"] = {"titles": top["Titles"], "commands": [p[-1] for p in top["Processes"]]}
        c.pause()
        c.reload()
        out["paused"] = c.status
        lines = len(c.logs().split())
        time.sleep(1)
        out["paused_lines"] = [lines, len(c.logs().split())]
        c.unpause()
        c.reload()
        out["unpaused"] = c.status
        c.remove(force=True)
        return out

    step("running", running)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
