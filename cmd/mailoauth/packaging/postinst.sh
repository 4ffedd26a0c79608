#!/bin/sh
# mailoauth's Debian postinst: the service user, the service store's
# directory and /etc/mailoauth. Idempotent (runs on every upgrade too).
set -e
if ! getent passwd mailoauth >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/mailoauth --no-create-home \
		--shell /usr/sbin/nologin --comment "mailoauth services" mailoauth
fi
# The services' store (MAILOAUTH_DB=/var/lib/mailoauth/mailoauth.db): only
# the mailoauth user reads it.
install -d -m 0700 -o mailoauth -g mailoauth /var/lib/mailoauth
# Configuration: root writes it, the services read it (authorized_keys);
# ssh/ holds serve's host key, generated at its first start.
install -d -m 0750 -o root -g mailoauth /etc/mailoauth
install -d -m 0700 -o mailoauth -g mailoauth /etc/mailoauth/ssh
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
if [ "$1" = configure ] && [ -z "$2" ]; then
	cat <<'MSG'
mailoauth: the services store is /var/lib/mailoauth/mailoauth.db. Configure it as
the mailoauth user, e.g.
  runuser -u mailoauth -- env MAILOAUTH_DB=/var/lib/mailoauth/mailoauth.db mailoauth setup ...
then put the administrators' public keys in /etc/mailoauth/authorized_keys
(mode 0640, group mailoauth) and: systemctl enable --now mailoauth-serve
MSG
fi
exit 0
