# virtio/: libvirtio.a, the virtio library (no KVM). One source per line.
VIRTIO_SRCS += virtio/vlog.c
VIRTIO_SRCS += virtio/gmem.c
VIRTIO_SRCS += virtio/queue.c
VIRTIO_SRCS += virtio/ratelimit.c
VIRTIO_SRCS += virtio/mmio.c
VIRTIO_SRCS += virtio/blk.c
VIRTIO_SRCS += virtio/blk_sync.c
VIRTIO_SRCS += virtio/blk_uring.c
VIRTIO_SRCS += virtio/rng.c
VIRTIO_SRCS += virtio/net.c
VIRTIO_SRCS += virtio/vsock.c
VIRTIO_SRCS += virtio/vsock_conn.c
VIRTIO_SRCS += virtio/vsock_mux.c

