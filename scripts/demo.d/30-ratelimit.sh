# sourced by scripts/demo
step 'printf "0 alice\n10 alice\n20 alice\n999 alice\n1000 alice\n1011 alice\n" | prodready ratelimit replay --limit 2 --window 1s'
printf "0 alice\n10 alice\n20 alice\n999 alice\n1000 alice\n1011 alice\n" | $pr ratelimit replay --limit 2 --window 1s
