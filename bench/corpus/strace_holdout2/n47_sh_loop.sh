#!/bin/sh
# a shell loop that creates, renames and deletes files, then reads a here-document
i=0
while [ $i -lt 3 ]; do
  echo "$i" > "f$i"
  mv "f$i" "g$i"
  i=$((i + 1))
done
rm g0 g1 g2
read -r line <<EOT
a here-document line
EOT
umask 077
: > empty
rm empty
