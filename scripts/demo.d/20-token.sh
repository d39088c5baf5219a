# sourced by scripts/demo
k=$($pr keygen local)
step 'prodready token issue --purpose local --key $KEY --ttl 15m --claim sub=alice'
t=$($pr token issue --purpose local --key "$k" --ttl 15m --claim sub=alice); echo "$t"
step 'prodready token verify --purpose local --key $KEY $TOKEN'
$pr token verify --purpose local --key "$k" "$t"
step 'prodready token verify ... --at 2099-01-01T00:00:00Z $TOKEN   (a manual clock)'
rc=0; $pr token verify --purpose local --key "$k" --at 2099-01-01T00:00:00Z "$t" || rc=$?; echo "exit $rc"
