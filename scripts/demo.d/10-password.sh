# sourced by scripts/demo: $pr is the prodready binary, step prints a heading
step 'echo "correct horse" | prodready password hash'
h=$(echo "correct horse" | $pr password hash); echo "$h"
step 'echo "correct horse" | prodready password verify "$h"'
rc=0; echo "correct horse" | $pr password verify "$h" || rc=$?; echo "exit $rc (match)"
step 'echo "wrong" | prodready password verify "$h"'
rc=0; echo "wrong" | $pr password verify "$h" || rc=$?; echo "exit $rc (mismatch)"
step 'prodready password needs-rehash "$h" --preset moderate'
$pr password needs-rehash "$h" --preset moderate || true
