#!/bin/sh
# Remakes the LibreOffice workbooks of this folder from their sources
# with LibreOffice in headless mode (Debian: apt-get install
# libreoffice-calc-nogui). The tests read the .xlsx files committed here
# and never need LibreOffice.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
cp libreoffice-types.fods "$tmp/libreoffice-types.fods"
sed 's/<office:spreadsheet>/<office:spreadsheet><table:calculation-settings><table:null-date table:date-value="1904-01-01"\/><\/table:calculation-settings>/' \
  libreoffice-types.fods > "$tmp/libreoffice-1904.fods"
cp quirky.csv "$tmp/libreoffice-quirky-csv.csv"
soffice --headless --convert-to xlsx --outdir "$tmp" "$tmp/libreoffice-types.fods" "$tmp/libreoffice-1904.fods"
soffice --headless --infilter='CSV:44,34,76,1,,0,false,true' --convert-to xlsx --outdir "$tmp" "$tmp/libreoffice-quirky-csv.csv"
cp "$tmp"/*.xlsx .
rm -rf "$tmp"
