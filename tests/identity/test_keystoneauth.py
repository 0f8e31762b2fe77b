"""keystoneauth1 (what openstacksdk and python-openstackclient log in with) against
the embedded identity: discovery, a project-scoped token and the catalog."""
from __future__ import annotations

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.helpers import unavailable
from tests.identity.fixtures import PASSWORDS, RunningIdentity


class KeystoneauthTest(unittest.TestCase):
    def setUp(self):
        try:
            from keystoneauth1 import session  # noqa: F401
        except ImportError:
            unavailable("keystoneauth1 is not installed")

    def _login(self, auth_url: str) -> dict:
        # Runs in a thread: keystoneauth is synchronous, the identity is in the reactor.
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        auth = v3.Password(auth_url=auth_url, username="demo",
                           password=PASSWORDS["demo"], project_name="demo",
                           user_domain_name="Default", project_domain_name="Default")
        sess = session.Session(auth=auth)
        try:
            access = auth.get_access(sess)
            return {
                "token": sess.get_token(),
                "project_id": access.project_id,
                "project_name": access.project_name,
                "roles": access.role_names,
                "compute": sess.get_endpoint(service_type="compute", interface="public"),
                "placement": sess.get_endpoint(service_type="placement",
                                               interface="internal"),
                "projects": auth.get_access(sess).project_scoped,
            }
        finally:
            sess.session.close()

    def test_password_plugin_gets_a_scoped_token_and_the_catalog(self):
        identity = RunningIdentity(self)

        @defer.inlineCallbacks
        def check():
            for auth_url in (identity.url, identity.url + "/v3"):
                result = yield threads.deferToThread(self._login, auth_url)
                self.assertTrue(result["token"])
                self.assertEqual("demo", result["project_name"])
                self.assertTrue(result["projects"])
                self.assertEqual(["member", "reader"], sorted(result["roles"]))
                self.assertEqual("http://127.0.0.1:8774/v2.1", result["compute"])
                self.assertEqual("http://127.0.0.1:8778", result["placement"])
                self.assertEqual(result["token"],
                                 identity.api.tokens.get(result["token"]).id)

        return check()

    def test_clouds_yaml_as_openstacksdk_reads_it(self):
        """The all-in-one's clouds.yaml, loaded the way openstacksdk does (the generic
        ``password`` plugin, which discovers the versions at ``auth_url``)."""
        import os

        import yaml
        from keystoneauth1 import loading, session

        from nova_tx.identity import clouds

        identity = RunningIdentity(self)
        path = os.path.join(self.mktemp(), "clouds.yaml")
        clouds.write_clouds_yaml(path, identity.url, "admin", PASSWORDS["admin"], "admin")

        def login() -> tuple:
            with open(path) as f:
                cloud = yaml.safe_load(f)["clouds"][clouds.CLOUD_NAME]
            loader = loading.get_plugin_loader(cloud["auth_type"])
            auth = loader.load_from_options(**cloud["auth"])
            sess = session.Session(auth=auth)
            try:
                access = auth.get_access(sess)
                endpoint = sess.get_endpoint(service_type="compute",
                                             interface=cloud["interface"],
                                             region_name=cloud["region_name"])
                return access.project_name, access.role_names, endpoint
            finally:
                sess.session.close()

        @defer.inlineCallbacks
        def check():
            project, roles, endpoint = yield threads.deferToThread(login)
            self.assertEqual("admin", project)
            self.assertIn("admin", roles)
            self.assertEqual("http://127.0.0.1:8774/v2.1", endpoint)

        return check()

    def test_wrong_password_is_refused(self):
        from keystoneauth1 import exceptions, session
        from keystoneauth1.identity import v3

        identity = RunningIdentity(self)

        def login():
            auth = v3.Password(auth_url=identity.url, username="demo", password="nope",
                               project_name="demo", user_domain_name="Default",
                               project_domain_name="Default")
            sess = session.Session(auth=auth)
            try:
                sess.get_token()
            finally:
                sess.session.close()

        return self.assertFailure(threads.deferToThread(login), exceptions.Unauthorized)
