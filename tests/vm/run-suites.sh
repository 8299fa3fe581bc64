#!/bin/bash
# run-suites.sh --kver KVER [--tap OUT] [SUITE...]: run kselftest suites in a
# QEMU guest.  See tests/vm/veilvm.py --help.
exec python3 "$(dirname "$0")/veilvm.py" suites "$@"
