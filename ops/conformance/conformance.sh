#!/bin/bash
# Run libiscsi's iscsi-test-cu (SCSI and iSCSI families, multipath via the same URL twice)
# against one LUN URL and summarise.
# Derived from the shared team tool /work/shared/tools/conformance.sh (and its cu-report.py,
# copied here unchanged); this copy adds -S/--allow-sanitize, a test filter and a read-only mode.
# usage: conformance.sh [-S] [-R] [-t FAMILY[.SUITE[.TEST]]] iscsi://host:port/iqn/lun [outdir]
#   -R  the LUN is write protected: run without -d (libiscsi's data-loss tests expect writes to
#       succeed, so they are skipped), then with -d the suites that need -d without expecting a
#       write to succeed: ReadOnly (tries the writes) and the persistent reservation suites
#       (libiscsi's PROUT helper refuses to run without -d).
set -u
sanitize=()
families=(SCSI iSCSI)
readonly_lun=0
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--allow-sanitize) sanitize=(--allow-sanitize); shift ;;
    -R|--read-only) readonly_lun=1; shift ;;
    -t|--test) families=("$2"); shift 2 ;;
    *) break ;;
  esac
done
dataloss=(-d)
ro_dataloss=(SCSI.ReadOnly SCSI.PrinReadKeys SCSI.PrinReportCapabilities SCSI.ProutRegister SCSI.ProutReserve
  SCSI.ProutClear SCSI.ProutPreempt)
[ $readonly_lun = 1 ] && dataloss=()
url=$1; out=${2:-$(mktemp -d)}
here=$(dirname "$(readlink -f "$0")")
mkdir -p "$out"; cd "$out"
: > cu-all.txt
for fam in "${families[@]}"; do
  log=cu-$(echo "$fam" | tr -c 'A-Za-z0-9.\n' _).txt
  timeout ${CU_TIMEOUT:-900} stdbuf -oL iscsi-test-cu "${dataloss[@]}" -v "${sanitize[@]}" --test="$fam" "$url" "$url" > "$log" 2>&1
  if [ $readonly_lun = 1 ]; then
    # These suites run again below with -d; drop their skipped copies here.
    awk -v list=" ${ro_dataloss[*]} " '/^Suite: /{skip=index(list, " SCSI." $2 " ") > 0} !skip' "$log" >> cu-all.txt
  else
    cat "$log" >> cu-all.txt
  fi
done
if [ $readonly_lun = 1 ]; then
  for suite in "${ro_dataloss[@]}"; do
    timeout ${CU_TIMEOUT:-900} stdbuf -oL iscsi-test-cu -d -v --test="$suite" "$url" "$url" > "cu-$suite.txt" 2>&1
    cat "cu-$suite.txt" >> cu-all.txt
  done
fi
python3 "$here/cu-report.py" cu-all.txt --list
