# SPDX-License-Identifier: GPL-2.0
# kselftests of 9pnet_vsock.ko (the 9P transport over AF_VSOCK): against
# diod, against hostile servers, and the proof handshake.
KSFT_PROGS += vsock9p_diod_test vsock9p_evil_test vsock9p_proof_test
SRCS_vsock9p_diod_test := tests/kselftest/vsock/vsock9p_diod_test.c
SRCS_vsock9p_evil_test := tests/kselftest/vsock/vsock9p_evil_test.c
SRCS_vsock9p_proof_test := tests/kselftest/vsock/vsock9p_proof_test.c
LIBS_vsock9p_proof_test := -lcrypto
