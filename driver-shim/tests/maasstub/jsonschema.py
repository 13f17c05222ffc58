"""Minimal stand-in for jsonschema.validate (the subset MAAS's schemas use)."""

__all__ = ["ValidationError", "validate"]


class ValidationError(Exception):
    pass


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float))
    and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _check(instance, schema, path):
    where = "/".join(str(p) for p in path) or "<root>"
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](instance) for k in kinds):
            raise ValidationError(
                "%s: %r is not of type %s" % (where, instance, kind)
            )
    if "enum" in schema and instance not in schema["enum"]:
        raise ValidationError("%s: %r not in %r" % (where, instance,
                                                    schema["enum"]))
    if "anyOf" in schema:
        errors = []
        for sub in schema["anyOf"]:
            try:
                _check(instance, sub, path)
            except ValidationError as error:
                errors.append(str(error))
            else:
                break
        else:
            raise ValidationError("%s: matches none of anyOf: %s"
                                  % (where, "; ".join(errors)))
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            if name not in instance:
                raise ValidationError("%s: %r is a required property"
                                      % (where, name))
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                _check(instance[name], sub, path + [name])
        for name, needed in schema.get("dependencies", {}).items():
            if name in instance:
                for other in needed:
                    if other not in instance:
                        raise ValidationError("%s: %r needs %r"
                                              % (where, name, other))
    if isinstance(instance, (list, tuple)):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            raise ValidationError("%s: too short" % where)
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            raise ValidationError("%s: too long" % where)
        if schema.get("uniqueItems"):
            seen = []
            for item in instance:
                if item in seen:
                    raise ValidationError("%s: %r repeated" % (where, item))
                seen.append(item)
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(instance):
                _check(item, items, path + [index])


def validate(instance, schema):
    _check(instance, schema, [])
