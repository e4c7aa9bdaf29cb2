#!/bin/bash
# Run libiscsi's iscsi-test-cu (SCSI and iSCSI families, multipath via the same URL twice)
# against one LUN URL and summarise.
# Derived from the shared team tool /work/shared/tools/conformance.sh (and its cu-report.py,
# copied here unchanged); this copy adds -S/--allow-sanitize and a test filter.
# usage: conformance.sh [-S] [-t FAMILY[.SUITE[.TEST]]] iscsi://host:port/iqn/lun [outdir]
set -u
sanitize=()
families=(SCSI iSCSI)
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--allow-sanitize) sanitize=(--allow-sanitize); shift ;;
    -t|--test) families=("$2"); shift 2 ;;
    *) break ;;
  esac
done
url=$1; out=${2:-$(mktemp -d)}
here=$(dirname "$(readlink -f "$0")")
mkdir -p "$out"; cd "$out"
: > cu-all.txt
for fam in "${families[@]}"; do
  log=cu-$(echo "$fam" | tr -c 'A-Za-z0-9.\n' _).txt
  timeout ${CU_TIMEOUT:-900} stdbuf -oL iscsi-test-cu -d -v "${sanitize[@]}" --test="$fam" "$url" "$url" > "$log" 2>&1
  cat "$log" >> cu-all.txt
done
python3 "$here/cu-report.py" cu-all.txt --list
