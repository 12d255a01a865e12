# section.sh - sourced by the bench scripts: replace_section BEGIN END SECTION_FILE RESULTS puts
# the contents of SECTION_FILE between the marker lines BEGIN and END of RESULTS (appended with
# its markers when absent), touching nothing else; the file is replaced atomically.
replace_section() {
    local begin=$1 end=$2 sect=$3 results=$4 tmp
    tmp=$(mktemp "${results}.XXXXXX")
    touch "$results"
    if grep -qxF "$begin" "$results" && grep -qxF "$end" "$results"; then
        awk -v begin="$begin" -v end="$end" -v sect="$sect" '
            $0 == begin { skipping = 1; print begin; while ((getline line < sect) > 0) print line; next }
            $0 == end && skipping { skipping = 0; print end; next }
            !skipping { print }
        ' "$results" >"$tmp"
    else
        { cat "$results"; [[ -s $results ]] && printf '\n'; printf '%s\n' "$begin";
          cat "$sect"; printf '%s\n' "$end"; } >"$tmp"
    fi
    mv "$tmp" "$results"
}
