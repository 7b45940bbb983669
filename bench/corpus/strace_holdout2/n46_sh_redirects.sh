#!/bin/sh
# a shell script: redirections, a pipeline, a subshell, builtins and a failing command
exec 3>out.txt
echo "to fd three" >&3
exec 3>&-
cat out.txt | tr a-z A-Z >/dev/null
( cd / && pwd >/dev/null )
test -e missing || true
ls nothing 2>/dev/null
rm -f out.txt
exit 0
