#!/usr/bin/env bash
# tools/rename-0.x.sh [TREE] - bring a weft tree's public names to the naming rules of README
# "Names" (issue 10 section 6), and bump the soname for it (README "ABI": a rename is a break).
#
# Run it at the top of a tree (or name one) whose code uses one set of names: main before the
# rename, or a branch started before it, once, before merging that branch into a renamed main.
# Re-running it on a renamed tree changes nothing: plain renames no longer match, and the two
# swaps (weft_file_write_all -> weft_file_write while weft_file_write -> weft_file_write_some;
# the same for pwrite) run only while file.h still declares the _all names. A tree that mixes old
# and new names is beyond any script: calls of the old maybe-short weft_file_write would silently
# become write-all calls there, so convert each branch on its own.
#
# What it touches: every text file under include/ engine/ net/ fileio/ serial/ tests/ examples/
# perf/, README.md, weft.map and Makefile that mentions a weft name. Word boundaries keep
# weft__internal names and longer names intact. Afterwards: make format && make check.
set -euo pipefail
cd "${1:-.}"
[ -f include/weft.h ] && [ -f weft.map ] || { echo "rename-0.x: not the top of a weft tree" >&2; exit 2; }

# ---- 1. plain renames: old new (exact names) --------------------------------------------------
RENAMES=(
	# every function names its object
	weft_spawn weft_task_spawn
	weft_gather weft_tasks_gather
	weft_wait weft_tasks_wait
	weft_call_soon weft_loop_call_soon
	weft_to_thread weft_executor_default_run
	# close releases; stopping one direction is shutdown (as weft_queue_shutdown)
	weft_chan_close weft_chan_shutdown
	weft_chan_is_closed weft_chan_is_shutdown
	# a write that may be short says so
	weft_file_writev weft_file_writev_some
	weft_file_pwritev weft_file_pwritev_some
	weft_file_pwrite_fixed weft_file_pwrite_fixed_some
)
# Prefix renames: old_prefix new_prefix (every name starting so, types and internals included).
PREFIXES=(
	# "group" is the nursery; a set of loop threads is a loopset
	weft_loop_group weft_loopset
	weft__loop_group weft__loopset
	WEFT_LOOP_GROUP WEFT_LOOPSET
	# the thread pool is an executor (weft_procpool is the process pool)
	weft_pool weft_executor
	weft__pool weft__executor
	WEFT_POOL WEFT_EXECUTOR
)

# The files: text files naming something weft in the folders the API is used in.
mapfile -d '' files < <(grep -rlIZE 'weft_|WEFT_|libweft|[Ll]oop group' \
	include engine net fileio serial tests examples perf README.md weft.map Makefile 2>/dev/null || true)
[ ${#files[@]} -gt 0 ] || { echo "rename-0.x: no file names weft" >&2; exit 2; }

script=$(mktemp); trap 'rm -f "$script"' EXIT
for ((i = 0; i < ${#RENAMES[@]}; i += 2)); do
	echo "s/\\b${RENAMES[i]}\\b/${RENAMES[i + 1]}/g" >>"$script"
done
for ((i = 0; i < ${#PREFIXES[@]}; i += 2)); do
	echo "s/\\b${PREFIXES[i]}(s?)\\b/${PREFIXES[i + 1]}\\1/g" >>"$script"
	echo "s/\\b${PREFIXES[i]}_/${PREFIXES[i + 1]}_/g" >>"$script"
done
# Prose: "loop group(s)" is now a "loopset" ("Loop groups:" in comments, README).
echo 's/\b([Ll])oop group(s?)\b/\1oopset\2/g' >>"$script"

# ---- 2. swaps (placeholders), only while the old _all names exist -------------------------------
# A bare write writes everything; _some may be short. README shorthand ("weft_file_write /
# _write_all") is rewritten with them.
swap() { # swap HEADER OLD_SHORT OLD_ALL
	grep -qE "\\b$3\\b" "$1" || return 0
	local tok="@@rename_0x_${2}@@" short=${2#weft_file}
	cat >>"$script" <<-EOF
		s/\`$2\` \\/ \`${short}_all\`/\`$3\` \\/ \`${short}_some\`/g
		s/\\b$2\\b/$tok/g
		s/\\b$3\\b/$2/g
		s/$tok/${2}_some/g
	EOF
}
swap include/weft/file.h weft_file_write weft_file_write_all
swap include/weft/file.h weft_file_pwrite weft_file_pwrite_all

# ---- 3. the soname: renaming breaks the ABI (README "ABI") -----------------------------------------
cat >>"$script" <<'EOF'
s/\blibweft\.so\.0\b/libweft.so.1/g
s/^VERSION := 0\.1\.0$/VERSION := 0.2.0/
s/^#define WEFT_VERSION_MINOR 1$/#define WEFT_VERSION_MINOR 2/
s/\bWEFT_0\.1\b/WEFT_0.2/g
s/(weft_version\(\), )"0\.1\.0"/\1"0.2.0"/
EOF

sed -i -E -f "$script" "${files[@]}"

# ---- 4. every weft_loop_* declared in weft/loop.h --------------------------------------------------
# move_decl FUNC FROM TO: move FUNC's declaration with the comment right above it from header FROM
# to the end of header TO (before its closing extern "C"). Nothing to do once it has moved.
move_decl() {
	FUNC=$1 perl -0777 -i -ne '
		if (s{\n(/\*(?:[^*]|\*(?!/))*\*/\n)?(WEFT_API[^;]*?\b\Q$ENV{FUNC}\E\s*\([^;]*;\n)}{}) {
			open(my $o, ">", "$ARGV.moved") or die; print $o "\n$1$2"; close $o;
		}
		print;' "$2"
	[ -f "$2.moved" ] || return 0
	MOVED="$2.moved" perl -0777 -i -pe '
		BEGIN { local $/; open(my $i, "<", $ENV{MOVED}) or die; $m = <$i>; }
		s{(\n#ifdef __cplusplus\n\}\n#endif\n(?:(?!#ifdef __cplusplus).)*\z)}{$m$1}s;' "$3"
	rm -f "$2.moved"
}
# loop.h names tasks now: the task typedefs move there (task.h includes loop.h).
if ! grep -q '^typedef struct weft_task weft_task;' include/weft/loop.h; then
	perl -0777 -i -pe 's{\ntypedef struct weft_task weft_task;\n\n(/\*[^\n]*\*/\n)?typedef int \(\*weft_task_fn\)\(void \*arg\);\n}{}' \
		include/weft/task.h
	perl -0777 -i -pe 's{(\ntypedef struct weft_loop weft_loop;\n)}{$1\n/* Tasks (weft/task.h): the loop calls below start, run and list them. A task'"'"'s entry point\n * returns its status. */\ntypedef struct weft_task weft_task;\ntypedef int (*weft_task_fn)(void *arg);\nstruct weft_task_opts;\n}' \
		include/weft/loop.h
fi
for f in weft_loop_spawn weft_loop_run_until weft_loop_tasks; do
	move_decl $f include/weft/task.h include/weft/loop.h
done
for f in weft_loop_post weft_loop_call; do
	move_decl $f include/weft/thread.h include/weft/loop.h
done
# The prose around the moved calls.
perl -0777 -i -pe 's{not thread-safe \(cross-thread posting lives in\n \* weft/thread\.h\)}{not thread-safe (weft_loop_post\n * below posts from any thread)}' \
	include/weft/loop.h
perl -0777 -i -pe 's{^( \* weft/thread\.h - crossing threads): posting}{$1 (weft_loop_post and weft_loop_call are in weft/loop.h\n * with the other loop calls): posting}m' \
	include/weft/thread.h
echo "rename-0.x: done on ${#files[@]} files; now: make format && make check"
