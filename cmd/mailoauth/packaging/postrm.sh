#!/bin/sh
# mailoauth's Debian postrm. The store in /var/lib/mailoauth and the mailoauth
# user are kept, also on purge: the store holds the profiles and tokens, and
# files may still belong to the user. Remove them by hand when wanted:
#   rm -r /var/lib/mailoauth /etc/mailoauth; userdel mailoauth
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
