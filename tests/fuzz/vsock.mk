# SPDX-License-Identifier: GPL-2.0
# libFuzzer target for vhost-user-vsock's virtqueue walker and packet
# checks; seeds in tests/fuzz/corpus/fuzz_vsock (written by fuzz_vsock.c
# built with -DFUZZ_VSOCK_WRITE_SEEDS).
FUZZ_TARGETS += fuzz_vsock
SRCS_fuzz_vsock := tests/fuzz/fuzz_vsock.c
FUZZ_LIBSRCS_fuzz_vsock := tests/vm/vhost-user-vsock/vq.c lib/log.c
LIBS_fuzz_vsock := -lpthread
