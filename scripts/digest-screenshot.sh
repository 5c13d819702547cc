#!/usr/bin/env bash
# Renders the weekly digest of a small demo agency and takes a screenshot of its HTML part in
# headless Chromium, to see what the operator's mail client shows (the chart and the tables).
#
#   bash scripts/digest-screenshot.sh [OUT.png]      (default: target/digest-screenshot.png)
#
# Installs Debian's chromium when it is missing (as root or with sudo). Everything else happens
# in a temporary folder with the shipped config: nothing of yours is read or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-target/digest-screenshot.png}")"

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cargo build --quiet --locked
tandem="$PWD/target/debug/tandem"
demo="$(mktemp -d)"
trap 'rm -rf "$demo"' EXIT
cp -r config templates "$demo/"
cd "$demo"
export TANDEM_LOG=warn

"$tandem" init >/dev/null
"$tandem" assistant add --name "Sam Lee" --email sam@va.example --timezone Europe/Lisbon --locale en >/dev/null
"$tandem" assistant add --name "Lena Vogel" --email lena@va.example --timezone Europe/Berlin --locale de >/dev/null
"$tandem" client add --name "Acme GmbH" --tag acme --locale de --contact "Anna Berg <anna@acme.example>" >/dev/null
"$tandem" client add --name "Globex Ltd" --tag globex --locale en --contact "Grace Hill <grace@globex.example>" >/dev/null
start="$(date -d '-60 days' +%F)"
"$tandem" engagement add --assistant sam@va.example --client acme --start "$start" --budget 40 >/dev/null
"$tandem" engagement add --assistant lena@va.example --client acme --start "$start" >/dev/null
"$tandem" engagement add --assistant lena@va.example --client globex --start "$(date +%F)" --trial-weeks 2 >/dev/null

# Eight weeks of hours, as the assistants would mail them in.
deliver() { # FROM TAG DAY HOURS N
    printf 'From: %s\nTo: team@example.org\nSubject: Hours\nMessage-ID: <%s@demo>\nDate: %s\n\n%s %sh #%s inbox and calendar\n' \
        "$1" "$5" "$(date -R)" "$3" "$4" "$2" > var/mail/inbox/new/$5.eml
}
n=0
for week in 0 1 2 3 4 5 6 7; do
    for who in "sam@va.example acme" "lena@va.example acme" "lena@va.example globex"; do
        set -- $who
        n=$((n + 1))
        [ "$2" = globex ] && [ "$week" -gt 0 ] && continue
        deliver "$1" "$2" "$(date -d "-$((week * 7 + 1)) days" +%F)" "$(( (n * 7) % 9 + 1 ))" "h$n"
    done
done
printf 'From: stranger@spam.example\nSubject: Win big\nMessage-ID: <spam@demo>\n\nhi\n' > var/mail/inbox/new/spam.eml
"$tandem" run --once >/dev/null

week="$(date -d '-1 day' +%G-W%V)"
"$tandem" digest --preview --format html --week "$week" > digest.html
mkdir -p "$(dirname "$out")"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$demo/chromium" --hide-scrollbars --window-size=760,2400 \
    --screenshot="$out" "file://$demo/digest.html" 2>/dev/null
echo "screenshot of the digest of $week: $out"
