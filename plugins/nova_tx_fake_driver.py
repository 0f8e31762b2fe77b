"""The fake virt driver, as a plugin (``[DEFAULT] compute_driver = fake.FakeDriver``)."""
from nova_tx.virt.fake import FakeDriverFactory

FakeDriver = FakeDriverFactory()
