package vsphere

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vice-engine/vice/plugins/sdk/errdefs"
)

// A layer's diff is kept as its index (diffIndexFile) instead of a second copy of the stream: the bytes of the
// uncompressed tar that are not the contents of the files unpacked into the disk (headers, padding, entries
// that are not unpacked as regular files), and, for each unpacked file, its name and size. The contents come
// from the disk's files when the diff is read back, so `docker save` gives the tar byte for byte as it was
// written, with the same digest, and a pull writes its data once. A file that a later entry of the same diff
// replaces is moved, not deleted, into diffStashDir under its number in the index, so the index can still
// refer to it. Reading back checks the digest against the layer's record.
//
// The format: the line indexMagic, then records, each a kind byte:
//
//	'R' uvarint(n) n bytes          bytes of the tar, as they were
//	'F' uvarint(size) uvarint(len) name   size bytes: the contents of the layer's file name (files are numbered from 0)
//	'E'                             the end of the index
const indexMagic = "vice-diff-index-1\n"

const (
	recRaw  = 'R'
	recFile = 'F'
	recEnd  = 'E'

	maxRawRecord = 1 << 20 // raw bytes gathered before a record is written
)

// diffRecorder sits between the uncompressed tar and the tar reader of an unpack and writes the index.
type diffRecorder struct {
	r       io.Reader
	w       *bufio.Writer
	raw     []byte
	content int64 // bytes still to come of the file announced last: not recorded
	files   int   // file records so far
	err     error // writing the index failed
	scratch [2 * binary.MaxVarintLen64]byte
}

func newDiffRecorder(r io.Reader, index io.Writer) (*diffRecorder, error) {
	w := bufio.NewWriterSize(index, 256<<10)
	if _, err := w.WriteString(indexMagic); err != nil {
		return nil, err
	}
	return &diffRecorder{r: r, w: w}, nil
}

func (d *diffRecorder) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	b := p[:n]
	if d.content > 0 {
		k := min(int64(len(b)), d.content)
		d.content -= k
		b = b[k:]
	}
	if len(b) > 0 {
		d.raw = append(d.raw, b...)
		if len(d.raw) >= maxRawRecord {
			d.flushRaw()
		}
	}
	return n, err
}

// file announces that the next size bytes read are the contents of the layer file name, which the unpack
// keeps; it returns the file's number.
func (d *diffRecorder) file(name string, size int64) int {
	d.flushRaw()
	d.write([]byte{recFile})
	d.uvarint(uint64(size))
	d.uvarint(uint64(len(name)))
	d.write([]byte(name))
	d.content = size
	k := d.files
	d.files++
	return k
}

// pending is what remains unread of the file announced last.
func (d *diffRecorder) pending() int64 { return d.content }

func (d *diffRecorder) flushRaw() {
	if len(d.raw) == 0 {
		return
	}
	d.write([]byte{recRaw})
	d.uvarint(uint64(len(d.raw)))
	d.write(d.raw)
	d.raw = d.raw[:0]
}

func (d *diffRecorder) uvarint(v uint64) {
	n := binary.PutUvarint(d.scratch[:], v)
	d.write(d.scratch[:n])
}

func (d *diffRecorder) write(b []byte) {
	if d.err == nil {
		_, d.err = d.w.Write(b)
	}
}

// finish ends the index; everything read must have been recorded.
func (d *diffRecorder) finish() error {
	if d.content > 0 {
		return fmt.Errorf("the diff ends inside a file: %w", errdefs.ErrInvalid)
	}
	d.flushRaw()
	d.write([]byte{recEnd})
	if d.err == nil {
		d.err = d.w.Flush()
	}
	if d.err != nil {
		return fmt.Errorf("write the diff index: %w", errdefs.Classed(d.err, errdefs.ErrSystem))
	}
	return nil
}

// layerFiles opens what a diff index refers to.
type layerFiles interface {
	// open opens the layer file name (as the index names it) for reading, never following a symlink.
	open(name string) (*os.File, error)
	// stashed opens file number k if it was moved to the stash; os.ErrNotExist when it was not.
	stashed(k int) (*os.File, error)
	Close() error
}

// diffReader rebuilds a layer's uncompressed tar from its index and files, checking its digest and size.
type diffReader struct {
	idx      *bufio.Reader
	closer   io.Closer
	files    layerFiles
	diffID   string
	diffSize int64

	cur    io.Reader // the rest of the current record
	curLen int64     // bytes cur still owes
	curF   *os.File
	k      int
	n      int64
	h      hashWriter
	err    error
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

// newDiffReader reads the index from index (closed with the reader) and the contents from files.
func newDiffReader(index io.ReadCloser, files layerFiles, diffID string, diffSize int64) (*diffReader, error) {
	br := bufio.NewReaderSize(index, 256<<10)
	magic := make([]byte, len(indexMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != indexMagic {
		return nil, fmt.Errorf("diff index: not an index (%v): %w", err, errdefs.ErrSystem)
	}
	return &diffReader{idx: br, closer: index, files: files, diffID: diffID, diffSize: diffSize, h: sha256.New()}, nil
}

func (r *diffReader) Read(p []byte) (int, error) {
	for r.err == nil {
		if r.cur != nil && r.curLen > 0 {
			n, err := r.cur.Read(p[:min(int64(len(p)), r.curLen)])
			r.curLen -= int64(n)
			r.n += int64(n)
			r.h.Write(p[:n])
			if err == io.EOF && r.curLen > 0 {
				r.err = fmt.Errorf("diff: a record ends %d bytes short: %w", r.curLen, errdefs.ErrSystem)
				return n, r.err
			}
			if err != nil && err != io.EOF {
				r.err = fmt.Errorf("diff: %w", errdefs.Classed(err, errdefs.ErrSystem))
				return n, r.err
			}
			if n > 0 || len(p) == 0 {
				return n, nil
			}
			continue
		}
		r.closeFile()
		r.err = r.next()
	}
	return 0, r.err
}

// next reads the next record header, making it current; io.EOF after a good end.
func (r *diffReader) next() error {
	kind, err := r.idx.ReadByte()
	if err != nil {
		return r.corrupt(err)
	}
	switch kind {
	case recRaw:
		n, err := binary.ReadUvarint(r.idx)
		if err != nil {
			return r.corrupt(err)
		}
		r.cur, r.curLen = r.idx, int64(n)
		return nil
	case recFile:
		size, err := binary.ReadUvarint(r.idx)
		if err != nil {
			return r.corrupt(err)
		}
		nameLen, err := binary.ReadUvarint(r.idx)
		if err != nil || nameLen > 1<<16 {
			return r.corrupt(err)
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r.idx, name); err != nil {
			return r.corrupt(err)
		}
		k := r.k
		r.k++
		f, err := r.files.stashed(k)
		if errors.Is(err, os.ErrNotExist) {
			f, err = r.files.open(string(name))
		}
		if err != nil {
			return fmt.Errorf("diff: layer file %q: %w", name, errdefs.Classed(err, errdefs.ErrSystem))
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() || st.Size() != int64(size) {
			f.Close()
			return fmt.Errorf("diff: layer file %q is not the %d bytes the index says: %w", name, size, errdefs.ErrSystem)
		}
		r.curF, r.cur, r.curLen = f, f, int64(size)
		return nil
	case recEnd:
		if got := "sha256:" + hex.EncodeToString(r.h.Sum(nil)); got != r.diffID || r.n != r.diffSize {
			return fmt.Errorf("diff: the layer's files give %s (%d bytes), its record says %s (%d bytes): %w",
				got, r.n, r.diffID, r.diffSize, errdefs.ErrSystem)
		}
		return io.EOF
	}
	return r.corrupt(fmt.Errorf("record kind %q", kind))
}

func (r *diffReader) corrupt(err error) error {
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("diff index: %v: %w", err, errdefs.ErrSystem)
}

func (r *diffReader) closeFile() {
	if r.curF != nil {
		r.curF.Close()
		r.curF = nil
	}
	r.cur, r.curLen = nil, 0
}

func (r *diffReader) Close() error {
	r.closeFile()
	r.files.Close()
	return r.closer.Close()
}
