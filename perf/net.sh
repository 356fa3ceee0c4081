#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/net.sh - the `net` suite (perf/run net): weft's echo server against a best-practice raw
# liburing echo server (the kernel-path limit) and a classic epoll one, over loopback, the server
# pinned to CPU 0 and the load generator (perf/echo_client, a weft program) to CPU 1.
#
#   net.echo_64B_c1, net.echo_64B_c64, net.echo_64B_c1000, net.echo_16K_c64
#       closed-loop throughput (msgs/s), weft vs raw liburing (ratio = weft/raw); epoll printed
#   net.cpu_64B_c64        server CPU µs per message at a fixed offered rate (open loop, 100k
#                          msgs/s over 64 connections x 64 B), weft vs raw liburing
#   net.cpu_epoll_64B_c64  the same figure, weft vs epoll (ratio = baseline/weft: > 1 = weft uses
#                          less)
#   net.idle_rss           server RSS per connection with 10 000 idle connections open (KiB)
#
# The readiness backend (where io_uring is blocked): the same echo_server run with
# WEFT_BACKEND=epoll in its environment alone (server "wepoll"; the client and the "weft" server
# keep their default backend, and a WEFT_BACKEND the suite inherits is ignored), checked to hold an
# epoll instance and no io_uring, measured against echo_epoll:
#   net.fallback_echo_64B_c64  closed-loop throughput, 64 connections x 64 B (ratio = weft/epoll)
#   net.fallback_cpu_64B_c64   server CPU per message at the fixed offered rate (ratio =
#                              epoll/weft: > 1 = weft uses less)
# Beside each, the epoll baseline against raw liburing in the same runs (no target: the
# epoll/io_uring gap moves with the host): net.epoll_vs_raw_64B_c64 (epoll/raw msgs/s) and
# net.epoll_vs_raw_cpu_64B_c64 (raw/epoll CPU per message).
#
# Each load runs against the servers its wanted figures need, in turn, run by run (weft raw epoll
# wepoll weft raw epoll wepoll ...), for >= 3 rounds; figures are medians. A server that fails to
# start (or to run on the backend it was given), or dies, is dropped and the others go on; the
# figures that needed it are not reported and the suite exits non-zero. The CPU figure is
# utime+stime from /proc/PID/stat over the client's measured window (the client reads it:
# echo_client -P PID). An open-loop run whose client was held up by other work on its CPU (over
# 2% of messages sent late) is repeated, up to 3 attempts, because a server spends less per
# message on the resulting bursts. Builds nothing: `make` (or perf/run) has built build/perf/*;
# the suite runs private copies of them.
#
# Usage: perf/net.sh [-q] [-n ROUNDS] [FILTER]
#   -q      quick smoke run: 1 round, short runs (under 30 s)
#   -n N    rounds (default 3)
#   FILTER  run only the figures whose name contains it (e.g. "cpu", "c1000", "idle", "fallback")
# Appends JSON lines to $WEFT_RESULTS (default perf/results.jsonl); exits non-zero if a server
# dies or the client fails (every echoed byte is verified).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
bin=${WEFT_PERF_BIN:-$root/build/perf} # override: test the driver on other builds
results=${WEFT_RESULTS:-$root/perf/results.jsonl}

quick=0
rounds=3
while getopts "qn:h" opt; do
	case $opt in
	q) quick=1 ;;
	n) rounds=$OPTARG ;;
	*)
		echo "usage: perf/net.sh [-q] [-n ROUNDS] [FILTER]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
filter=${1:-}
if ((quick)); then
	rounds=1
	secs=0.6 warm=0.2 idle_conns=10000 cpu_tries=1
else
	secs=2 warm=0.5 idle_conns=10000 cpu_tries=3
fi
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1)); then
	echo "net: bad round count '$rounds'" >&2
	exit 2
fi

# wepoll: weft's echo_server on the readiness backend. server_env is given to that server alone;
# server_backend is what it must then run on (see backend_of).
SERVERS="weft raw epoll wepoll"
declare -A server_bin=([weft]=echo_server [raw]=echo_uring [epoll]=echo_epoll [wepoll]=echo_server)
declare -A server_env=([wepoll]=WEFT_BACKEND=epoll)
declare -A server_backend=([wepoll]=epoll)
if [[ -n ${WEFT_BACKEND:-} ]]; then
	echo "net: ignoring WEFT_BACKEND=$WEFT_BACKEND: the client and the weft server run on their" \
		"default backend; the fallback figures set it for their server alone"
fi
unset WEFT_BACKEND
for s in $SERVERS; do
	if [[ ! -x $bin/${server_bin[$s]} ]]; then
		echo "net: $bin/${server_bin[$s]} is missing (run make)" >&2
		exit 1
	fi
done
[[ -x $bin/echo_client ]] || {
	echo "net: $bin/echo_client is missing (run make)" >&2
	exit 1
}

# 10 000 connections need 10 000 fds on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if (($(ulimit -n) < idle_conns + 100)); then
	echo "net: ulimit -n is $(ulimit -n); holding $idle_conns connections needs more" \
		"(the idle figure uses fewer)" >&2
	idle_conns=$(($(ulimit -n) - 100))
fi

tmp=$(mktemp -d /tmp/weft-net.XXXXXX)
declare -A pid port
failed=0

cleanup() {
	local s
	for s in "${!pid[@]}"; do
		kill "${pid[$s]}" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run private copies: a `make` elsewhere relinking build/perf/* mid-suite must not break a run.
for b in echo_client "${server_bin[@]}"; do
	cp "$bin/$b" "$tmp/$b" || exit 1
done
bin=$tmp

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# backend_of PID: what the weft process PID drives its I/O with, told from the outside: "uring" if
# it holds an io_uring instance (an fd or a ring mapping), else "epoll" if it holds an epoll
# instance, else "none".
backend_of() {
	local fds
	fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null)
	if [[ $fds == *'[io_uring]'* ]] || grep -qF '[io_uring]' "/proc/$1/maps" 2>/dev/null; then
		echo uring
	elif [[ $fds == *'[eventpoll]'* ]]; then
		echo epoll
	else
		echo none
	fi
}

# drop_server NAME: stop it and leave it out of the runs that follow (${pid[NAME]} is unset).
drop_server() {
	kill "${pid[$1]}" 2>/dev/null
	wait "${pid[$1]}" 2>/dev/null
	unset "pid[$1]"
}

# start_server NAME: a fresh server on CPU 0, listening on a free port, on the backend it must
# run on. If it does not get there it is dropped, and the suite will fail.
start_server() {
	local s=$1 p i be=""
	p=$(free_port)
	# shellcheck disable=SC2086 # server_env is a list of assignments, maybe empty
	env ${server_env[$s]:-} taskset -c 0 "$bin/${server_bin[$s]}" -p "$p" 2>"$tmp/$s.err" &
	pid[$s]=$!
	port[$s]=$p
	for ((i = 0; i < 250; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			be=$(backend_of "${pid[$s]}")
			[[ -z ${server_backend[$s]:-} || $be == "${server_backend[$s]}" ]] && return 0
			echo "net: server $s (${server_env[$s]:-} ${server_bin[$s]}) runs on $be, not" \
				"${server_backend[$s]}: this libweft has no ${server_backend[$s]} backend or" \
				"ignored ${server_env[$s]:-the request}; the figures that need $s are not measured" >&2
			break
		fi
		kill -0 "${pid[$s]}" 2>/dev/null || break
		sleep 0.02
	done
	[[ -n $be ]] || echo "net: server $s (${server_env[$s]:-} ${server_bin[$s]}) did not start" \
		"listening on port $p; the figures that need $s are not measured" >&2
	cat "$tmp/$s.err" >&2
	drop_server "$s"
	failed=1
	return 1
}

stop_server() {
	local s=$1
	[[ -n ${pid[$s]:-} ]] || return 0
	server_alive "$s"
	drop_server "$s"
}

server_alive() {
	kill -0 "${pid[$1]}" 2>/dev/null && return 0
	echo "net: server $1 died" >&2
	cat "$tmp/$1.err" >&2
	failed=1
	return 1
}

# run_client SERVER FIGURE ARGS...: one client run against SERVER; its JSON line, tagged with
# the server and the figure, goes to $tmp/runs.jsonl. Open-loop runs (FIGURE cpu) whose client
# was held up - more than 2% of its messages written over 1.5 ms late, because something else
# took its CPU - offered bursts, not the rate, and servers spend less per message on bursts: such
# a run is repeated (up to $cpu_tries attempts) and the least late attempt is kept.
run_client() {
	local s=$1 fig=$2 out best="" try tries=1 late best_late=2
	shift 2
	[[ $fig == cpu ]] && tries=$cpu_tries
	for ((try = 1; try <= tries; try++)); do
		server_alive "$s" || return 1
		if ! out=$(taskset -c 1 "$bin/echo_client" -p "${port[$s]}" -P "${pid[$s]}" \
			-T "$secs" -w "$warm" -j "$@" 2>"$tmp/client.err"); then
			echo "net: client against $s failed ($fig: echo_client $*):" >&2
			cat "$tmp/client.err" >&2
			failed=1
			return 1
		fi
		server_alive "$s" || return 1
		late=$(sed -n 's/.*"late_frac":\([0-9.]*\).*/\1/p' <<<"$out")
		if awk -v a="$late" -v b="$best_late" 'BEGIN { exit !(a < b) }'; then
			best=$out best_late=$late
		fi
		awk -v a="$late" 'BEGIN { exit !(a <= 0.02) }' && break
		echo "  $s: client held up ($(awk -v a="$late" 'BEGIN { printf "%.1f", 100 * a }')% of" \
			"messages sent late)$( ((try < tries)) && echo ": run again")"
	done
	echo "{\"server\":\"$s\",\"figure\":\"$fig\",\"run\":$best}" >>"$tmp/runs.jsonl"
	# One short line per run, so a slow suite shows progress.
	python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-6s %-20s %9.0f msgs/s  p50 %7.1f us  p99 %8.1f us  srv %s us/msg  cli cpu %3.0f%%%s" % (sys.argv[2], sys.argv[3], r["msgs_per_s"], r["p50_us"], r["p99_us"], "-" if r["server_cpu_us_per_msg"] is None else "%.2f" % r["server_cpu_us_per_msg"], 100*r["client_cpu"], "  late %.1f%%" % (100*r["late_frac"]) if r["target_rate"] else ""))' \
		"$best" "$s" "$fig"
}

want() { [[ -z $filter || $1 == *"$filter"* ]]; }

echo "net suite: $rounds round(s), ${secs}s runs (+${warm}s warm-up), servers on CPU 0, client on CPU 1"
: >"$tmp/runs.jsonl"

# ---- throughput (closed loop) and CPU per message (open loop) --------------------------------
# servers_for FIGURE:SERVERS...: the servers the wanted FIGUREs need, in $SERVERS order.
servers_for() {
	local arg s need=" "
	for arg; do
		want "${arg%%:*}" && need+="${arg#*:} "
	done
	for s in $SERVERS; do
		[[ $need == *" $s "* ]] && printf '%s ' "$s"
	done
}

# A closed-loop load, run against the servers its wanted figures need:
# add_point TAG "CLIENT ARGS" FIGURE:SERVERS...
points=()
needed=" "
add_point() {
	local list
	list=$(servers_for "${@:3}")
	[[ -n $list ]] && points+=("$1|$list|$2") && needed+="$list"
}
add_point net.echo_64B_c1 "-c 1 -s 64" "net.echo_64B_c1:weft raw epoll"
add_point net.echo_64B_c64 "-c 64 -s 64" "net.echo_64B_c64:weft raw epoll" \
	"net.epoll_vs_raw_64B_c64:raw epoll" "net.fallback_echo_64B_c64:wepoll epoll raw"
add_point net.echo_64B_c1000 "-c 1000 -s 64" "net.echo_64B_c1000:weft raw epoll"
add_point net.echo_16K_c64 "-c 64 -s 16384" "net.echo_16K_c64:weft raw epoll"
cpu_rate=100000
cpu_servers=$(servers_for "net.cpu_64B_c64:weft raw" "net.cpu_epoll_64B_c64:weft epoll" \
	"net.epoll_vs_raw_cpu_64B_c64:raw epoll" "net.fallback_cpu_64B_c64:wepoll epoll raw")
needed+="$cpu_servers"

# run_each TAG "SERVERS" CLIENT ARGS...: one run against each of SERVERS still up, in turn; a
# server whose run fails is dropped.
run_each() {
	local tag=$1 list=$2 s
	shift 2
	for s in $list; do
		[[ -n ${pid[$s]:-} ]] || continue
		run_client "$s" "$tag" "$@" || drop_server "$s"
	done
}

for s in $SERVERS; do
	[[ $needed == *" $s "* ]] && start_server "$s"
done

for ((r = 1; r <= rounds; r++)); do
	for pt in "${points[@]}"; do
		IFS='|' read -r tag list args <<<"$pt"
		# shellcheck disable=SC2086 # args is a word list
		run_each "$tag" "$list" $args
	done
done

if [[ -n $cpu_servers ]]; then
	# Can the client offer the rate? Probe against the raw server (or the first one up); settle
	# lower if not.
	probe_port=0
	for s in raw $cpu_servers; do
		[[ -n ${pid[$s]:-} ]] && probe_port=${port[$s]} && break
	done
	probe=$(taskset -c 1 "$bin/echo_client" -p "$probe_port" -c 64 -s 64 -r "$cpu_rate" \
		-T 0.5 -w 0.2 -j 2>"$tmp/client.err")
	offered=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["offered_per_s"]))' \
		"$probe" 2>/dev/null || echo 0)
	if ((offered < cpu_rate * 97 / 100)); then
		new=$((offered * 9 / 10 / 1000 * 1000))
		echo "net: the client offered only $offered of $cpu_rate msgs/s; measuring CPU at $new msgs/s"
		cpu_rate=$new
	fi
	if ((cpu_rate < 1000)); then
		echo "net: the open-loop probe failed:" >&2
		cat "$tmp/client.err" >&2
		failed=1
	else
		for ((r = 1; r <= rounds; r++)); do
			run_each cpu "$cpu_servers" -c 64 -s 64 -r "$cpu_rate" -d 8
		done
	fi
fi

for s in $SERVERS; do
	stop_server "$s"
done

# ---- idle connections: RSS per connection of the weft server -----------------------------------
idle_kib=
if want net.idle_rss; then
	rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
	nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
	if start_server weft; then
		sp=${pid[weft]}
		sleep 0.2
		before=$(rss_kib "$sp")
		fds0=$(nfds "$sp")
		taskset -c 1 "$bin/echo_client" -p "${port[weft]}" -c "$idle_conns" -I -T 30 \
			>"$tmp/idle.out" 2>"$tmp/client.err" &
		cp=$!
		ok=0
		for ((i = 0; i < 400; i++)); do
			# Every connection accepted, and its fiber parked in its first receive.
			if (($(nfds "$sp") >= fds0 + idle_conns)); then
				ok=1
				break
			fi
			kill -0 "$cp" 2>/dev/null || break
			sleep 0.05
		done
		if ((ok)); then
			sleep 0.3
			after=$(rss_kib "$sp")
			idle_kib=$(python3 -c "print(round(($after - $before) / $idle_conns, 3))")
			echo "  weft   idle: RSS $before KiB -> $after KiB with $idle_conns connections:" \
				"$idle_kib KiB per connection"
		else
			echo "net: the weft server did not accept $idle_conns connections" \
				"($(nfds "$sp") fds open):" >&2
			cat "$tmp/client.err" "$tmp/weft.err" >&2
			failed=1
		fi
		kill "$cp" 2>/dev/null
		wait "$cp" 2>/dev/null
		stop_server weft
	fi
fi

# ---- medians, the table and the JSON lines -----------------------------------------------------
if ! python3 - "$tmp/runs.jsonl" "$results" "$cpu_rate" "$idle_kib" "$idle_conns" "$filter" \
	"$rounds" <<'EOF'
import json, statistics, sys

runs_path, results, cpu_rate, idle_kib, idle_conns, flt, rounds = sys.argv[1:8]
rounds = int(rounds)
runs = {}
with open(runs_path) as fh:
    for line in fh:
        r = json.loads(line)
        runs.setdefault((r["figure"], r["server"]), []).append(r["run"])

def med(fig, srv, key):
    rs = runs.get((fig, srv), [])
    v = [x[key] for x in rs if x.get(key) is not None]
    # A server dropped part-way has fewer runs than the rounds: no figure from it.
    return statistics.median(v) if v and len(rs) >= rounds else None

def want(name):
    return not flt or flt in name

def ahead(v, base, higher):
    """v against base, > 1 when v is ahead: v/base for rates, base/v for costs."""
    if not v or not base:
        return None
    return v / base if higher else base / v

def f(v, prec=2):
    return "-" if v is None else f"{v:.{prec}f}"

def emit(name, value, unit, baseline, bval, ratio):
    with open(results, "a") as fh:
        fh.write(json.dumps({"suite": "net", "name": name, "value": value, "unit": unit,
                             "baseline": baseline, "baseline_value": bval, "ratio": ratio}) + "\n")

def fallback(name, vs_raw, tag, key, unit, higher, prec):
    """weft on the readiness backend (server wepoll) against epoll, in the runs of @tag; beside
    it, epoll against raw liburing in the same runs (@vs_raw, no target)."""
    if not (want(name) or want(vs_raw)):
        return
    fw, e, b = (med(tag, s, key) for s in ("wepoll", "epoll", "raw"))
    r, er = ahead(fw, e, higher), ahead(e, b, higher)
    this_host = f"(this host: epoll vs raw liburing {f(er, 3)}, {f(e, prec)} vs {f(b, prec)} {unit})"
    if r is None:
        print(f"[{name}] not measured: weft on the epoll backend (server wepoll) did not "
              f"complete its runs, see above   {this_host}")
    else:
        n = len(runs[(tag, "wepoll")])
        print(f"[{name}] weft on epoll {fw:.{prec}f} {unit}, epoll {e:.{prec}f}   ratio {r:.3f} "
              f"(> 1: weft ahead)   {this_host}   [{n} runs each]")
        emit(name, round(fw, 4), unit, "epoll", round(e, 4), round(r, 4))
    if er is not None:
        emit(vs_raw, round(e, 4), unit, "liburing", round(b, 4), round(er, 4))

print()
for fig in ("net.echo_64B_c1", "net.echo_64B_c64", "net.echo_64B_c1000", "net.echo_16K_c64"):
    w, b, e = (med(fig, s, "msgs_per_s") for s in ("weft", "raw", "epoll"))
    if w is None or b is None:
        continue
    wc, bc, ec = (med(fig, s, "server_cpu_us_per_msg") for s in ("weft", "raw", "epoll"))
    cc = [med(fig, s, "client_cpu") for s in ("weft", "raw", "epoll")]
    n = len(runs[(fig, "weft")])
    ratio = w / b
    print(f"[{fig}] weft {w:9.0f} msgs/s  raw liburing {b:9.0f}  epoll {e or 0:9.0f}   "
          f"ratio {ratio:.3f} (epoll/raw {(e or 0) / b:.3f})   "
          f"srv cpu us/msg weft {f(wc)} raw {f(bc)} epoll {f(ec)}   client cpu "
          f"{'/'.join('-' if c is None else '%.0f%%' % (100 * c) for c in cc)}   [{n} runs each]")
    emit(fig, round(w, 1), "msgs/s", "liburing", round(b, 1), round(ratio, 4))
fallback("net.fallback_echo_64B_c64", "net.epoll_vs_raw_64B_c64", "net.echo_64B_c64",
         "msgs_per_s", "msgs/s", True, 0)

w, b, e = (med("cpu", s, "server_cpu_us_per_msg") for s in ("weft", "raw", "epoll"))
if w and (b or e):
    rate = {s: med("cpu", s, "msgs_per_s") for s in ("weft", "raw", "epoll")}
    n = len(runs[("cpu", "weft")])
    print(f"[net.cpu_64B_c64] at {int(cpu_rate)} msgs/s offered (64 conns x 64 B, open loop): "
          f"server cpu weft {w:.3f} us/msg, raw liburing {f(b, 3)}, epoll {f(e, 3)}   "
          f"ratio vs raw {f(ahead(w, b, False), 3)}, vs epoll {f(ahead(w, e, False), 3)}   "
          f"(served {' / '.join(f(rate[s], 0) for s in ('weft', 'raw', 'epoll'))} msgs/s) "
          f"[{n} runs each]")
    if b:
        emit("net.cpu_64B_c64", round(w, 4), "us/msg", "liburing", round(b, 4), round(b / w, 4))
    if e:
        emit("net.cpu_epoll_64B_c64", round(w, 4), "us/msg", "epoll", round(e, 4), round(e / w, 4))
fallback("net.fallback_cpu_64B_c64", "net.epoll_vs_raw_cpu_64B_c64", "cpu",
         "server_cpu_us_per_msg", "us/msg", False, 3)
late = sum(1 for (f_, _), v in runs.items() if f_ == "cpu" for x in v if x["late_frac"] > 0.02)
if late:
    print(f"  WARNING: in {late} of these runs the client was held up (over 2% of messages "
          "sent late: something else ran on its CPU); bursts cost a server less per message "
          "than a steady rate, so these CPU figures are not trustworthy")

if idle_kib:
    print(f"[net.idle_rss] {float(idle_kib):.2f} KiB per idle connection ({idle_conns} connections)")
    emit("net.idle_rss", float(idle_kib), "KiB", None, None, None)
EOF
then
	failed=1
fi

exit $failed
