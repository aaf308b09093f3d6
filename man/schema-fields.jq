# The fields of one JSON schema as a flat list, in declaration order: the
# single source of the definition reference in README.md and elements-spec(5).
#
#   jq -n --arg file element.schema.json \
#      --slurpfile element schema/element.schema.json \
#      --slurpfile spec schema/spec.schema.json -f man/schema-fields.jq
#
# Prints {"title", "description", "fields": [{"path", "type", "required",
# "description"}]}. A field reached through a $ref into the other schema is
# listed, not expanded: that schema's own reference describes it.

def schemas: {"element.schema.json": $element[0], "spec.schema.json": $spec[0]};

# {file, node} with every $ref resolved; keys beside a $ref win over the
# target's, and own properties come first.
def deref($file):
  if (.["$ref"] | type) == "string" then
    . as $own
    | ($own["$ref"] | split("#")) as [$target, $pointer]
    | (if $target == "" then $file else $target end) as $into
    | (schemas[$into] | getpath($pointer | ltrimstr("/") | split("/")))
    | deref($into) as $resolved
    | {
        file: $resolved.file,
        crossed: ($into != $file or ($resolved.crossed // false)),
        node: (($resolved.node * ($own | del(.["$ref"])))
               | if ($own.properties // $resolved.node.properties) then
                   .properties = (($own.properties // {}) + ($resolved.node.properties // {})
                                  + ($own.properties // {}))
                 else . end)
      }
  else {file: $file, crossed: false, node: .} end;

def type_name($file):
  deref($file).node as $n
  | if $n | has("const") then $n.const | tojson
    elif $n.enum then $n.enum | map(tojson) | join(" | ")
    elif $n.type == "array" then
      "array" + (if $n.items then " of " + ($n.items | type_name($file)) else "" end)
    elif $n.type == "integer" and ($n | has("minimum")) and ($n | has("maximum")) then
      "integer \($n.minimum) to \($n.maximum)"
    elif $n.type then $n.type
    elif $n.oneOf then [$n.oneOf[] | type_name($file)] | unique | join(" or ")
    else "any" end;

# Rows for what lies below a node: an object's properties (and those of its
# oneOf branches), an array's items, the values of a map (as NAME).
def rows($file; $path):
  def join_path($key): if $path == "" then $key else "\($path).\($key)" end;
  . as $node
  | if $node.properties or $node.oneOf then
      ((($node.properties // {}) | to_entries[]) as {key: $key, value: $value}
       | ($value | deref($file)) as $d
       | {
           path: join_path($key),
           type: ($value | type_name($file)),
           required: (($node.required // []) | index($key) != null),
           description: ($d.node.description // "")
         },
         (if $d.crossed then empty else $d.node | rows($d.file; join_path($key)) end)),
      (($node.oneOf // [])[] | deref($file) | .file as $f | .node | rows($f; $path))
    elif $node.items then
      $node.items | deref($file) | .file as $f | .node | rows($f; "\($path)[]")
    elif ($node.additionalProperties | type) == "object" then
      ($node.additionalProperties | deref($file)) as $d
      | {
          path: "\($path).NAME",
          type: ($node.additionalProperties | type_name($file)),
          required: false,
          description: ($d.node.description // "")
        },
        ($d.node | rows($d.file; "\($path).NAME"))
    else empty end;

schemas[$file]
| deref($file) as $top
| {
    title: $top.node.title,
    description: $top.node.description,
    fields: [$top.node | rows($top.file; "")]
  }
