; codetap tags query for Rust (tree-sitter-rust).

(struct_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(union_item
  name: (type_identifier) @name) @definition.union

(type_item
  name: (type_identifier) @name) @definition.type

(trait_item
  name: (type_identifier) @name) @definition.interface

(function_item
  name: (identifier) @name) @definition.function

(declaration_list
  (function_item
    name: (identifier) @name) @definition.method)

(function_signature_item
  name: (identifier) @name) @definition.method

(mod_item
  name: (identifier) @name) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro

(const_item
  name: (identifier) @name) @definition.constant

(static_item
  name: (identifier) @name) @definition.constant

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name)) @reference.send

(call_expression
  function: (scoped_identifier
    name: (identifier) @name)) @reference.send

(macro_invocation
  macro: (identifier) @name) @reference.call

(impl_item
  trait: (type_identifier) @name) @reference.implementation

(impl_item
  type: (type_identifier) @name) @reference.implementation

(type_identifier) @name @reference.type
