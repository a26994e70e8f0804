# The box launcher and wrapper (a3s-box). Run as
#   bash --norc --noprofile -c "$(this program)" a3s-box-wrapper N BOX...
# where each BOX is `GATE_FD LOG_FD EXIT_FILE CWD ARGC CMD...`. One launcher starts the wrappers
# of every box booted at the same moment with the same environment (a restart storm boots 100
# boxes with one process spawned by the booting process instead of 100: a spawn from a large
# process costs a millisecond or more of its CPU, a bash start-up two more). It forks a wrapper
# (subshell) per box but the last, and is itself the last box's wrapper. The command is never
# part of a shell string: it arrives as arguments.
#
# - GATE_FD is one end of a socket pair: the wrapper reports the job's pid on it, the booting
#   process answers `go` (or closes it), and the wrapper reports `exit CODE` there once the
#   exit code is written. LOG_FD is the console log, opened by the booting process. Each
#   wrapper moves its gate above every inherited descriptor and closes the others' at once.
# - The wrapper changes to CWD (`cd -P`: PWD is the physical path, as for a process started
#   there; OLDPWD is as the launcher found it).
# - `set -m` makes the background job a process group of its own whose signals are not
#   ignored (non-job-control shells start async commands with SIGINT/SIGQUIT ignored).
#   Job control is switched off again right after, so `wait` returns only on termination
#   (with it on, `wait` also returns when the box is SIGSTOPped: a paused box).
# - The job is a subshell that waits for `go` on the gate (the booting process reads the
#   job's start time first, so the recorded identity is never missed, however fast the
#   command dies), then `exec`s the command: the recorded pid is the command's own. If the
#   booting process dies first (or closes the gate), the gate reads end-of-file: the job
#   SIGKILLs its wrapper and exits 125. The box's command never ran, so nothing may write an
#   exit code for it: the box's `exit_code` is its last real run's (or a newer incarnation's),
#   and a wrapper that could only write 125 over it is gone (SIGKILL: no trap runs).
# - Before anyone learns the job's pid, the wrapper silences its own stderr (bash's "Killed"
#   job notices must not reach the console log) and ignores HUP/INT/QUIT/TERM (only the box
#   receives the stop signal) and PIPE (the booting process may be gone).
# - The exit code (128+N for signal N) is written to EXIT_FILE in one write of a few bytes
#   ending in a newline (a reader sees no file, an empty one or the whole line: see
#   `parseExitCodeFile`), and the wrapper exits with it. The wrapper sets umask 077 once the
#   job is forked (the box keeps the booting process's umask): the file is the user's alone.
# - BASH_ENV in the box env would make the launcher source it: it travels under another
#   name (A3S_BOX_BASH_ENV) and is restored for the command. The launcher's own variables are
#   a3s_-prefixed.
# - `... a3s-box-wrapper spare` is a launcher started ahead of need (a process that boots
#   again and again, the monitor, keeps one ready): it reads one box as NUL-terminated fields
#   `EXIT_FILE LOG CWD ARGC CMD...` from its gate (fd 3), opens the log itself, and carries on
#   as the launcher of that one box. Closed unused, it exits.
#
# Edit this file, then run `npm run generate` (scripts/wrapper-script.mjs): it writes
# wrapperScript.ts, the program as a string without its comment lines (it travels in every
# launcher's argv). A test fails while the two differ; another runs `bash -n` on both.

# A spare: read the one box it launches from its gate, then carry on as a launcher of one.
if [ "$1" = spare ]; then
  IFS= read -r -d '' a3s_exit_file <&3 || exit 0
  IFS= read -r -d '' a3s_log <&3 || exit 0
  IFS= read -r -d '' a3s_cwd <&3 || exit 0
  IFS= read -r -d '' a3s_argc <&3 || exit 0
  a3s_cmd=()
  for ((a3s_i = 0; a3s_i < a3s_argc; a3s_i++)); do IFS= read -r -d '' a3s_arg <&3 || exit 0; a3s_cmd+=("$a3s_arg"); done
  exec 4>>"$a3s_log" || exit 126
  set -- 1 3 4 "$a3s_exit_file" "$a3s_cwd" "$a3s_argc" "${a3s_cmd[@]}"
fi
# The launcher: N boxes, then their arguments; gates are fds 3..3+N-1, logs 3+N..3+2N-1.
a3s_n=$1
shift
a3s_top=$((3 + 2 * a3s_n))
a3s_close=
for ((a3s_f = 3; a3s_f < a3s_top; a3s_f++)); do a3s_close+=" $a3s_f>&-"; done
a3s_had_old=${OLDPWD+x}
a3s_old=${OLDPWD-}
# One box's wrapper: GATE_FD LOG_FD EXIT_FILE CWD ARGC CMD...
a3s_wrap() {
  eval "exec $a3s_top<&$1 1>&$2 2>&1 0</dev/null $a3s_close"
  a3s_exit_file=$3
  cd -P -- "$4" || exit 126
  if [ -n "$a3s_had_old" ]; then OLDPWD=$a3s_old; else unset OLDPWD; fi
  shift 5
  a3s_self=$BASHPID
  set -m
  (
    IFS= read -r a3s_go <&"$a3s_top" || a3s_go=
    eval "exec $a3s_top<&-"
    if [ "$a3s_go" != go ]; then kill -KILL "$a3s_self" 2>/dev/null; exit 125; fi
    if [ -n "${A3S_BOX_BASH_ENV+x}" ]; then export BASH_ENV="$A3S_BOX_BASH_ENV"; unset A3S_BOX_BASH_ENV; fi
    exec "$@"
  ) &
  a3s_child=$!
  set +m
  umask 077
  exec 2>/dev/null
  trap '' HUP INT QUIT TERM PIPE
  printf '%s\n' "$a3s_child" >&"$a3s_top"
  wait "$a3s_child"
  a3s_code=$?
  printf '%s\n' "$a3s_code" >"$a3s_exit_file"
  printf 'exit %s\n' "$a3s_code" >&"$a3s_top"
  exit "$a3s_code"
}
# A wrapper per box, forked for all but the last, whose wrapper is the launcher itself.
while [ "$#" -gt 0 ]; do
  a3s_argc=$((5 + $5))
  if [ "$#" -le "$a3s_argc" ]; then a3s_wrap "${@:1:a3s_argc}"; fi
  ( a3s_wrap "${@:1:a3s_argc}" ) &
  shift "$a3s_argc"
done
