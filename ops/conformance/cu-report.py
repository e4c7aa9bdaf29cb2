#!/usr/bin/env python3
"""Summarise a verbose iscsi-test-cu run into passed (really run), skipped, failed.
# Copied unchanged from the shared team tool /work/shared/tools/cu-report.py.

usage: cu-report.py OUTPUT.txt [--json] [--list]
CUnit counts a skipped test as passed; this splits them apart. The verdict is
CUnit's own ('passed' / 'FAILED' after the test's messages); a test whose
messages say [SKIPPED] and whose verdict is 'passed' counts as skipped.
"""
import json, re, sys

VERDICT = re.compile(r'(?<!\[)\b(passed|FAILED)\b(?!\])')

def parse(text):
    results, cur = [], None
    suite = None
    for line in text.splitlines():
        m = re.match(r'^Suite: (\S+)', line)
        if m:
            suite, cur = m.group(1), None
            continue
        m = re.match(r'^\s+Test: (\S+) \.\.\.(.*)$', line)
        if m:
            cur = {'suite': suite, 'test': m.group(1), 'status': None, 'note': ''}
            results.append(cur)
            rest = m.group(2)
        elif cur is not None and cur['status'] is None:
            rest = line
        else:
            continue
        # messages before the verdict
        v = VERDICT.search(rest)
        msg = rest[:v.start()] if v else rest
        if '[SKIPPED]' in msg and not cur['note']:
            cur['note'] = 'SKIPPED ' + msg.split('[SKIPPED]', 1)[1].strip()[:110]
            cur['skip'] = True
        if '[FAILED]' in msg and not cur['note'].startswith('FAILED'):
            cur['note'] = 'FAILED ' + msg.split('[FAILED]', 1)[1].strip()[:110]
        if v:
            verdict = v.group(1)
            cur['status'] = 'failed' if verdict == 'FAILED' else ('skipped' if cur.get('skip') else 'passed')
    for r in results:
        r.pop('skip', None)
        if r['status'] is None:
            r['status'] = 'failed'; r['note'] = r['note'] or 'no verdict (crash or timeout)'
    return results

def main():
    text = open(sys.argv[1], errors='replace').read()
    res = parse(text)
    counts = {s: sum(1 for r in res if r['status'] == s) for s in ('passed', 'skipped', 'failed')}
    if '--json' in sys.argv:
        print(json.dumps({'counts': counts, 'results': res}, indent=1)); return
    if '--list' in sys.argv:
        for r in res:
            if r['status'] != 'passed':
                print(f"{r['status']:8} {r['suite']}.{r['test']}  {r['note']}")
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped of {len(res)}")

if __name__ == '__main__':
    main()
