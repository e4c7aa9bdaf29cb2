#!/bin/bash
# Run libiscsi's iscsi-test-cu (SCSI and iSCSI families, multipath via the same URL twice)
# against one LUN URL and summarise.
# Derived from the shared team tool /work/shared/tools/conformance.sh (and its cu-report.py,
# copied here unchanged); this copy adds -S/--allow-sanitize, a test filter and a read-only mode.
# usage: conformance.sh [-S] [-R] [-t FAMILY[.SUITE[.TEST]]] iscsi://host:port/iqn/lun [outdir]
#   -R  the LUN is write protected: run without -d (libiscsi's data-loss tests expect writes to
#       succeed, so they are skipped), then with -d the suites that need -d without expecting a
#       write to succeed: ReadOnly (tries the writes) and the persistent reservation suites
#       (libiscsi's PROUT helper refuses to run without -d), and Sanitize.InvalidServiceAction
#       (its helper refuses to send SANITIZE without -d; the invalid service actions never write).
#       Tests that need a write to succeed are not applicable to a write-protected LU and are
#       left out of the summary, named on stderr: WriteVerify{10,12,16}.Dpo (libiscsi checks
#       no -d flag there and fails without one) and ProutReserve.Access* (they write through
#       the reservation). The thin and removable runs cover them.
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
  SCSI.ProutClear SCSI.ProutPreempt SCSI.Sanitize.InvalidServiceAction)
ro_not_applicable=" WriteVerify10.Dpo WriteVerify12.Dpo WriteVerify16.Dpo ProutReserve.AccessEA ProutReserve.AccessWE
  ProutReserve.AccessEARO ProutReserve.AccessWERO ProutReserve.AccessEAAR ProutReserve.AccessWEAR "
[ $readonly_lun = 1 ] && dataloss=()
url=$1; out=${2:-$(mktemp -d)}
here=$(dirname "$(readlink -f "$0")")
mkdir -p "$out"; cd "$out"
: > cu-all.txt
# iscsi-test-cu keeps one pair of sessions per suite, and a test's reservation outlives the test:
# Sanitize.Reservations takes a RESERVE(6) on the second session and never releases it (with two
# URLs, mpath_sd2_put leaves that session logged in), so the next test of the suite,
# Sanitize.Reset, has its SANITIZE refused with RESERVATION CONFLICT by any target that enforces
# SPC-2 reservations. With -S the SCSI family therefore runs from a list file in the tool's own
# order in which every Sanitize test is a suite of its own (fresh sessions, and the logout of the
# previous ones releases the reservation); every other suite runs exactly as with --test=SCSI.
scsi_tests() {
  iscsi-test-cu --list | awk -F. '$1 == "SCSI" && NF == 2 && $2 != "Sanitize" { print }
    $1 == "SCSI" && NF == 3 && $2 == "Sanitize" { print }'
}
for fam in "${families[@]}"; do
  log=cu-$(echo "$fam" | tr -c 'A-Za-z0-9.\n' _).txt
  tests=$fam
  if [ "$fam" = SCSI ] && [ ${#sanitize[@]} -gt 0 ]; then
    tests=$PWD/scsi-tests.txt
    scsi_tests > "$tests"
  fi
  timeout ${CU_TIMEOUT:-900} stdbuf -oL iscsi-test-cu "${dataloss[@]}" -v "${sanitize[@]}" --test="$tests" "$url" "$url" > "$log" 2>&1
  if [ $readonly_lun = 1 ]; then
    # These suites run again below with -d; drop their skipped copies here.
    awk -v list=" ${ro_dataloss[*]} " '/^Suite: /{suite=$2; skip=index(list, " SCSI." $2 " ") > 0}
      /^  Test: /{t=" SCSI." suite "." $2 " "; if (!(index(list, " SCSI." suite " ") > 0)) skip=index(list, t) > 0}
      !skip' "$log" >> cu-all.txt
  else
    cat "$log" >> cu-all.txt
  fi
done
if [ $readonly_lun = 1 ]; then
  for suite in "${ro_dataloss[@]}"; do
    timeout ${CU_TIMEOUT:-900} stdbuf -oL iscsi-test-cu -d -v "${sanitize[@]}" --test="$suite" "$url" "$url" > "cu-$suite.txt" 2>&1
    cat "cu-$suite.txt" >> cu-all.txt
  done
  echo "not applicable to a write-protected LU (left out):$ro_not_applicable" >&2
  awk -v list=" $(echo $ro_not_applicable) " '/^Suite: /{suite=$2; drop=0}
    /^  Test: /{drop=index(list, " " suite "." $2 " ") > 0} !drop' cu-all.txt > cu-all.tmp && mv cu-all.tmp cu-all.txt
fi
python3 "$here/cu-report.py" cu-all.txt --list
