#!/bin/sh
# Run each unit test binary; print its tally; sum them up.
# Ends with "unit: N passed, M failed" and fails if any test failed.
pass=0; fail=0; bad=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\1/p')
	f=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\2/p')
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
	[ $rc -eq 0 ] || bad=$((bad + 1))
done
[ $bad -gt 0 ] && [ $fail -eq 0 ] && fail=$bad
echo "unit: $pass passed, $fail failed"
[ $bad -eq 0 ]
