; codetap tags query for Python (tree-sitter-python).
; Captures follow the tags convention: @definition.<category> / @reference.<category>
; wrap the whole construct and @name marks the identifier. A call through an object
; (obj.name(), pkg.Name()) is a message send, @reference.send; a bare call is @reference.call.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  body: (block
    (function_definition
      name: (identifier) @name) @definition.method))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition
        name: (identifier) @name) @definition.method)))

(module
  (expression_statement
    (assignment
      left: (identifier) @name) @definition.constant))

(call
  function: (identifier) @name) @reference.call

(call
  function: (attribute
    attribute: (identifier) @name)) @reference.send

(class_definition
  superclasses: (argument_list
    [(identifier) @name
     (attribute attribute: (identifier) @name)])) @reference.class

(type
  (identifier) @name) @reference.type

(decorator
  [(identifier) @name
   (attribute attribute: (identifier) @name)]) @reference.call
