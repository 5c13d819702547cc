#!/usr/bin/env bash
# Builds tandem's Debian package from this repository with dpkg-deb (no cargo-deb needed):
#   packaging/build-deb.sh [--binary PATH] [--out DIR]
# Without --binary it builds the release binary (`cargo build --release --locked`). The
# package holds:
#   /usr/bin/tandem
#   /etc/tandem/tandem.toml            the shipped config, its paths under /var/lib/tandem
#                                      and the templates under /usr/share/tandem (a conffile)
#   /usr/share/tandem/templates/       the mail templates
#   /lib/systemd/system/tandem.service packaging/tandem.service
#   /usr/share/doc/tandem/             README.md, copyright
# Its postinst creates the system user `tandem` (home /var/lib/tandem), and creates the
# database and mail folders (`tandem init`, as that user); the service is not started.
# Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
out="target/debian"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--out DIR]" >&2; exit 2 ;;
    esac
done
if [ -z "$binary" ]; then
    cargo build --release --locked >&2
    binary="target/release/tandem"
fi
[ -x "$binary" ] || { echo "no executable at $binary" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
mkdir -p "$out"
stage=$(mktemp -d "${TMPDIR:-/tmp}/tandem-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"

install -D -m 0755 "$binary" "$stage/usr/bin/tandem"
strip --strip-unneeded "$stage/usr/bin/tandem" 2>/dev/null || true
install -d "$stage/usr/share/tandem"
cp -r templates "$stage/usr/share/tandem/templates"
find "$stage/usr/share/tandem" -type d -exec chmod 0755 {} +
find "$stage/usr/share/tandem" -type f -exec chmod 0644 {} +
install -D -m 0644 packaging/tandem.service "$stage/lib/systemd/system/tandem.service"
install -D -m 0644 README.md "$stage/usr/share/doc/tandem/README.md"
install -d "$stage/etc/tandem"
sed -e 's|^url = "sqlite://var/tandem.db"|url = "sqlite:///var/lib/tandem/tandem.db"|' \
    -e 's|^maildir = "var/mail/inbox"|maildir = "/var/lib/tandem/mail/inbox"|' \
    -e 's|^dir = "var/mail/outbox"|dir = "/var/lib/tandem/mail/outbox"|' \
    -e 's|^dir = "templates"|dir = "/usr/share/tandem/templates"|' \
    config/tandem.toml > "$stage/etc/tandem/tandem.toml"
for path in /var/lib/tandem/tandem.db /var/lib/tandem/mail/inbox /var/lib/tandem/mail/outbox \
    /usr/share/tandem/templates; do
    grep -qF "$path\"" "$stage/etc/tandem/tandem.toml" \
        || { echo "config/tandem.toml changed: $path not set in the packaged config" >&2; exit 1; }
done
chmod 0644 "$stage/etc/tandem/tandem.toml"
cat > "$stage/usr/share/doc/tandem/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tandem
License: MIT OR Apache-2.0
COPYRIGHT

install -d "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: tandem
Version: $version
Section: mail
Priority: optional
Architecture: $arch
Maintainer: tandem <operator@example.org>
Depends: libc6, adduser
Installed-Size: $size
Homepage: https://example.org/tandem
Description: mail daemon for agencies placing freelance virtual assistants
 tandem reads one mailbox and answers by mail: hours logged by assistants,
 client surveys, agreement reminders, onboarding and a weekly digest for the
 operator. SQLite or PostgreSQL; IMAP or Maildir in, SMTP or files out.
CONTROL
echo "/etc/tandem/tandem.toml" > "$stage/DEBIAN/conffiles"

cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    install -d -m 0750 /var/lib/tandem
    if ! getent passwd tandem >/dev/null; then
        adduser --system --group --home /var/lib/tandem --no-create-home \
            --gecos "tandem mail daemon" tandem >/dev/null
    fi
    chown tandem:tandem /var/lib/tandem
    # The config is readable by the daemon, not by everyone (it names where secrets are).
    chgrp tandem /etc/tandem/tandem.toml && chmod 0640 /etc/tandem/tandem.toml
    # The database and the mail folders, as the daemon's user; a config pointing at a
    # database that is not there yet (PostgreSQL) is left for the operator.
    if ! (cd /var/lib/tandem && runuser -u tandem -- /usr/bin/tandem \
            --config /etc/tandem/tandem.toml init >/dev/null); then
        echo "tandem: 'tandem init' failed; fix /etc/tandem/tandem.toml and run" >&2
        echo "  runuser -u tandem -- tandem --config /etc/tandem/tandem.toml init" >&2
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
    fi
    echo "tandem installed: edit /etc/tandem/tandem.toml, then 'systemctl enable --now tandem'"
fi
exit 0
POSTINST
cat > "$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
    systemctl stop tandem.service >/dev/null 2>&1 || true
fi
exit 0
PRERM
cat > "$stage/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
# The data in /var/lib/tandem and the user stay, even on purge: they hold the agency's
# records (remove them by hand when that is what you want).
exit 0
POSTRM
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

deb="$out/tandem_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >&2
echo "$deb"
