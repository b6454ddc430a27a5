#!/bin/sh
# Called for every push to main: $1 the repository, $2 the commit, $PUSHER who pushed.
# Appends one line to $DEPLOY_LOG (default ./deploys.log); a real setup would deploy here.
set -eu
printf '%s %s %s\n' "$1" "$2" "${PUSHER:-unknown}" >> "${DEPLOY_LOG:-./deploys.log}"
