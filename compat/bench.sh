#!/usr/bin/env bash
# Measures the preload shim's overheads (the table in compat/README.md): cat of a cached file
# and cp -r of many small files, each without and with the shim, alternated round by round;
# prints the medians and the median of the per-round ratios. Needs bash, coreutils, python3.
#   bash compat/bench.sh           1 GiB file, 10,000 files of 4 KiB, 9 rounds
#   bash compat/bench.sh --quick   256 MiB, 2,000 files, 5 rounds
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=1024 files=10000 rounds=9
if [ "${1:-}" = --quick ]; then
    size_mib=256 files=2000 rounds=5
fi

cargo build --release -q -p uring_os_preload
so=$PWD/target/release/liburing_os_preload.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c "${size_mib}M" /dev/zero >"$work/big"
cat "$work/big" >/dev/null # now cached
python3 - "$work/src" "$files" <<'EOF'
import os, sys
root, files = sys.argv[1], int(sys.argv[2])
for i in range(files):
    d = os.path.join(root, f"d{i // 100}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 100}"), "wb") as f:
        f.write(os.urandom(4096))
EOF
sync

# Runs `sh -c "$2"` once, with the environment in $1 (a word list), and prints nanoseconds.
once() {
    local start end
    start=$(date +%s%N)
    env $1 sh -c "$2"
    end=$(date +%s%N)
    echo $((end - start))
}

# measure LABEL SHIM_ENV SCRIPT [SETUP]: without and with the shim, alternated; SETUP runs
# untimed, without the shim, before each run.
measure() {
    local label=$1 shim_env=$2 script=$3 setup=${4:-true} plain with
    local -a rows=()
    for ((i = 0; i <= rounds; i++)); do
        sh -c "$setup"
        plain=$(once "" "$script")
        sh -c "$setup"
        with=$(once "LD_PRELOAD=$so $shim_env" "$script")
        # The first round warms up and is not counted.
        [ "$i" -gt 0 ] && rows+=("$plain $with")
    done
    printf '%s\n' "${rows[@]}" | awk -v label="$label" -v n="$rounds" '
        function median(a, k,   i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        { p[NR] = $1 / 1e9; w[NR] = $2 / 1e9; r[NR] = $2 / $1 }
        END {
            printf "%-52s without %.3f s, with %.3f s: ratio %.2f (median of %d rounds)\n",
                label, median(p, NR), median(w, NR), median(r, NR), n
        }'
}

echo "== the preload shim's overheads: $size_mib MiB cached file, $files files of 4 KiB"
measure "cat of a cached file > /dev/null" "" "cat $work/big >/dev/null"
measure "cat of a cached file | cat > /dev/null" "" "cat $work/big | cat >/dev/null"
# Each copy goes to a new directory; the previous copies are removed untimed (no sync: the
# copies stay in the page cache, and what is measured is the calls, not the disk).
copy="cp -r $work/src \$(mktemp -d -p $work/runs)/copy"
mkdir -p "$work/runs"
measure "cp -r of the small files" "" "$copy" "rm -rf $work/runs/*"
measure "cp -r of the small files, URING_OS_PRELOAD_OPS=all" "URING_OS_PRELOAD_OPS=all" \
    "$copy" "rm -rf $work/runs/*"
