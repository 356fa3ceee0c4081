#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/http.sh - the `http` suite (perf/run http): weft's HTTP/1.1 server (perf/http_server)
# against nginx (1 worker, access_log off, the same responses), with wrk as the load; the server
# pinned to CPU 0, wrk (one thread) to CPU 1. The work is done by perf/http_bench.py; see there
# for the figures and the method. Needs nginx and wrk (make deps).
#
# Usage: perf/http.sh [-q] [-n ROUNDS] [FILTER]
set -uo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/http_bench.py" "$@"
