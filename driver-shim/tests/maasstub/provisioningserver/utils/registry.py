"""Stand-in for provisioningserver.utils.registry: a class-level registry."""


class RegistryType(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._items = {}

    def __iter__(cls):
        return iter(list(cls._items.items()))

    def __contains__(cls, name):
        return name in cls._items


class Registry(metaclass=RegistryType):
    @classmethod
    def register_item(cls, name, item):
        cls._items[name] = item

    @classmethod
    def unregister_item(cls, name):
        cls._items.pop(name, None)

    @classmethod
    def get_item(cls, name, default=None):
        return cls._items.get(name, default)
