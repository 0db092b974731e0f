package proxy

import "sync"

// copyBufferSize matches ReverseProxy's own copy buffer.
const copyBufferSize = 32 << 10

// bufferPool recycles ReverseProxy's response copy buffers (otherwise 32 KiB allocated per
// request). It stores array pointers so that Put does not allocate. Safe for concurrent
// use.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

// Get returns a buffer of copyBufferSize bytes.
func (b *bufferPool) Get() []byte { return b.pool.Get().(*[copyBufferSize]byte)[:] }

// Put returns buf to the pool; buffers of another size are dropped.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) != copyBufferSize {
		return
	}
	b.pool.Put((*[copyBufferSize]byte)(buf))
}
