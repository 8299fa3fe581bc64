KSFT_PROGS += veil_modules_test
SRCS_veil_modules_test := tests/kselftest/modules/veil_modules_test.c
