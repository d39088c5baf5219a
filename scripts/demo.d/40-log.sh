# sourced by scripts/demo
step 'echo {"user":"bob","password":"hunter2","dsn":"postgres://app:pw@db/x"} | prodready log scrub'
echo '{"user":"bob","password":"hunter2","dsn":"postgres://app:pw@db/x","note":"card 4111 1111 1111 1111"}' | $pr log scrub
