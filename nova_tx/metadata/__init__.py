"""What a guest learns about itself: the metadata trees the metadata service serves
(``nova_tx.api.metadata``) and a config drive carries (:mod:`.configdrive`)."""
