#!/usr/bin/env bash
# Seeds the fuzz corpora from the repository's own catalogs (nothing is duplicated in git:
# corpus/ is ignored). Run from anywhere; re-running is harmless.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/validate corpus/render corpus/krm corpus/diff

catalogs=("$root"/clients/clients.yaml "$root"/tests/fixtures/valid/*.yaml "$root"/tests/fixtures/invalid/*.yaml "$root"/tests/fixtures/many_problems.yaml)
for f in "${catalogs[@]}"; do
  name="$(basename "$(dirname "$f")")-$(basename "$f")"
  cp "$f" "corpus/validate/$name"
  cp "$f" "corpus/render/$name"
done
# diff: without a NUL byte the input is the head and the sample catalog the base.
for f in "$root"/clients/clients.yaml "$root"/tests/fixtures/valid/*.yaml; do
  cp "$f" "corpus/diff/$(basename "$f")"
done

# KRM: each catalog wrapped as the functionConfig of a ResourceList, for the zone `dev`
# (annotation added under `metadata:`), with and without an item of its own. The invalid
# fixtures too (one per rule, as in validate), so every rule is also answered as results.
for f in "$root"/clients/clients.yaml "$root"/tests/fixtures/valid/*.yaml "$root"/tests/fixtures/invalid/*.yaml; do
  case "$f" in */invalid/*) name="invalid-$(basename "$f" .yaml)" ;; *) name="$(basename "$f" .yaml)" ;; esac
  config="$(awk '{print} /^metadata:[[:space:]]*$/ {print "  annotations:"; print "    tenantgen.io/zone: dev"}' "$f" | sed -e 's/^/  /')"
  printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n%s\n' "$config" >"corpus/krm/$name.yaml"
  printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: mine\n      namespace: default\n    data: {a: "1"}\nfunctionConfig:\n%s\n' "$config" >"corpus/krm/$name-with-item.yaml"
done
printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n' >corpus/krm/no-config.yaml
echo "seeded: $(ls corpus/validate | wc -l) validate, $(ls corpus/render | wc -l) render, $(ls corpus/krm | wc -l) krm, $(ls corpus/diff | wc -l) diff"
