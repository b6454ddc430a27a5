#!/bin/sh
# The bench's hook command: append the delivery id ($1) as one line to $BENCH_LINES, so the
# runs are counted and every acknowledged delivery can be matched with its run.
printf '%s\n' "$1" >> "$BENCH_LINES"
