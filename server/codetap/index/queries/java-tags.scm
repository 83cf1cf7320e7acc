; codetap tags query for Java (tree-sitter-java).

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.constructor

(method_invocation
  object: (_)
  name: (identifier) @name) @reference.send

(method_invocation
  !object
  name: (identifier) @name) @reference.call

(object_creation_expression
  type: (type_identifier) @name) @reference.class

(superclass
  (type_identifier) @name) @reference.class

(super_interfaces
  (type_list
    (type_identifier) @name)) @reference.implementation

(type_identifier) @name @reference.type
