package tail

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Chunks recycles the buffers that lines are cut from (Options.Chunks): a
// buffer goes back to its Chunks once every line cut from it has been
// released, and the follower cuts later lines from it. It is safe for
// concurrent use: lines are typically released on another goroutine than
// the follower's.
type Chunks struct {
	free sync.Pool // *Chunk, every line of which was released
	// Poison, when set, overwrites a chunk's bytes as soon as its last
	// line is released: a test sets it to show that no line's text is
	// used after its release (it would read the poison, 0xff bytes).
	Poison bool
}

// NewChunks returns an empty set of chunk buffers.
func NewChunks() *Chunks { return &Chunks{} }

// Chunk is a buffer that lines were cut from (Line.Chunk). Each such line
// holds a reference on it, which the line's consumer gives back with
// Release once it no longer uses the line's text; the buffer is then
// reused, and the text changes under any string still pointing into it.
type Chunk struct {
	buf  []byte
	refs atomic.Int32
	from *Chunks
}

// Release gives back one line's reference on c; with the last one, c's
// buffer is reused for new lines. A nil Chunk (a line that is not cut
// from a recycled buffer) is ignored.
func (c *Chunk) Release() {
	if c == nil {
		return
	}
	switch n := c.refs.Add(-1); {
	case n == 0:
		c.recycle()
	case n < 0:
		panic("tail: a chunk's line released twice")
	}
}

// recycle puts c, every line of which was released, back to its Chunks.
func (c *Chunk) recycle() {
	if c.from.Poison {
		for i := range c.buf {
			c.buf[i] = 0xff
		}
	}
	c.from.free.Put(c)
}

// ReleaseN gives back n lines' references on c at once, as n calls of
// Release would (a nil Chunk is ignored).
func (c *Chunk) ReleaseN(n int) {
	if c == nil || n == 0 {
		return
	}
	switch m := c.refs.Add(int32(-n)); {
	case m == 0:
		c.recycle()
	case m < 0:
		panic("tail: a chunk's line released twice")
	}
}

// holdN takes n more references on c, for lines about to be cut from it.
func (c *Chunk) holdN(n int) { c.refs.Add(int32(n)) }

// fill returns a chunk holding a copy of b, and its text: a recycled
// buffer when one is large enough, else a new one. The caller holds one
// reference on it (released when it has cut its lines).
func (cs *Chunks) fill(b []byte) (*Chunk, string) {
	c, _ := cs.free.Get().(*Chunk)
	if c == nil || cap(c.buf) < len(b) {
		// a power of two: the chunks of a follower (of up to
		// Options.Chunk bytes, most of them full) fit in one another's
		// buffers, rather than each smaller one being dropped
		c = &Chunk{buf: make([]byte, 0, 1<<bits.Len(uint(max(len(b), 1)-1))), from: cs}
	}
	c.buf = append(c.buf[:0], b...)
	c.refs.Store(1)
	return c, unsafe.String(unsafe.SliceData(c.buf), len(c.buf))
}
