#!/usr/bin/env bash
# The GitHub Action's step: run one aoai-lb command non-interactively. aoai-lb itself
# writes the job summary, the step outputs and the annotations (GITHUB_ACTIONS=true);
# this script adds `exit-code` and treats plan's 3 ("changes") as success.
set -uo pipefail

command="${INPUT_COMMAND:-plan}"
plan="${INPUT_PLAN:?the action needs the plan input}"
read -r -a extra <<< "${INPUT_ARGS:-}"

case "$command" in
  plan|verify) flags=() ;;
  apply|destroy) flags=(--yes) ;;
  *)
    echo "::error title=aoai-lb::unknown command '$command' (plan, apply, destroy or verify)"
    echo "exit-code=2" >> "$GITHUB_OUTPUT"
    exit 2
    ;;
esac

echo "::group::aoai-lb $command $plan"
aoai-lb "$command" "$plan" "${flags[@]}" "${extra[@]}"
code=$?
echo "::endgroup::"
echo "exit-code=$code" >> "$GITHUB_OUTPUT"

if [ "$command" = plan ] && [ "$code" -eq 3 ]; then
  exit 0
fi
exit "$code"
