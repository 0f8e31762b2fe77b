"""``POST /servers/{id}/action``: reboot, stop, start, pause, unpause, suspend, resume,
lock, unlock, os-resetState and os-getConsoleOutput over HTTP: the state checks and
their 409s, the task states set and the actions recorded, the casts to the compute,
the lock rules and policies, and refusals that change nothing."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.api.compute import server_actions
from nova_tx.compute import states
from nova_tx.db.main import instance_actions
from tests.api.servers_server import ADMIN, DEMO, RESOURCES, ServersServer, version

OTHER = "other:another-project"
#: An admin of another project: its lock is an admin's lock (Nova compares projects).
OTHER_ADMIN = "admin:another-project"


class RecordingCompute:
    """The compute RPC API: every cast recorded (method, instance uuid, task state,
    arguments); the console log answered."""

    def __init__(self):
        self.casts: list[tuple] = []
        self.console = "line 1\nline 2\nline 3\n"

    def __getattr__(self, method: str):
        def cast(context, instance, *args, **kwargs):
            self.casts.append((method, instance.uuid, instance.task_state, args))
        return cast

    async def get_console_output(self, context, instance, tail_length):
        lines = self.console.splitlines(keepends=True)
        return "".join(lines if tail_length is None else lines[-tail_length:])


class ActionsServer(ServersServer):
    RESOURCES = [*RESOURCES, server_actions.routes]

    def __init__(self, testcase, **kwargs):
        super().__init__(testcase, **kwargs)
        self.compute = RecordingCompute()
        self.components["compute_rpcapi"] = self.compute


class ServerActionsTest(unittest.TestCase):
    def setUp(self):
        self.api = ActionsServer(self, notification_format="both")

    async def act(self, server, body, token=DEMO, microversion="2.1"):
        return await self.api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                      body=body, token=token,
                                      headers=version(microversion))

    def stored(self, server):
        return self.api.get_instance(server.uuid, expected_attrs=("system_metadata",))

    def actions(self, server):
        with self.api.cell_engine.connect() as conn:
            return [a.action for a in instance_actions.get_by_instance(conn, server.uuid)]

    def assert_conflict(self, reply, message):
        self.assertEqual(409, reply.code, reply.json)
        self.assertEqual(message, reply.json["conflictingRequest"]["message"])

    async def test_power_actions(self):
        cases = [
            ({"os-stop": None}, states.ACTIVE, states.POWERING_OFF, "stop_instance"),
            ({"os-start": None}, states.STOPPED, states.POWERING_ON, "start_instance"),
            ({"pause": None}, states.ACTIVE, states.PAUSING, "pause_instance"),
            ({"unpause": None}, states.PAUSED, states.UNPAUSING, "unpause_instance"),
            ({"suspend": None}, states.ACTIVE, states.SUSPENDING, "suspend_instance"),
            ({"resume": None}, states.SUSPENDED, states.RESUMING, "resume_instance"),
        ]
        for body, vm_state, task_state, method in cases:
            server = self.api.add_instance(vm_state=vm_state, host="compute1")
            reply = await self.act(server, body)
            self.assertEqual(202, reply.code, (body, reply.json))
            self.assertEqual(task_state, self.stored(server).task_state)
            self.assertEqual((method, server.uuid, task_state, ()), self.api.compute.casts[-1])
            self.assertEqual([method.split("_")[0]], self.actions(server))

    async def test_wrong_state_is_a_conflict_and_changes_nothing(self):
        stopped = self.api.add_instance(vm_state=states.STOPPED, host="compute1")
        before = self.api.cell_snapshot()
        reply = await self.act(stopped, {"os-stop": None})
        self.assert_conflict(reply, f"Cannot 'stop' instance {stopped.uuid} while it is in "
                                    "vm_state stopped")
        busy = self.api.add_instance(task_state=states.REBOOTING, host="compute1")
        before = self.api.cell_snapshot()
        reply = await self.act(busy, {"pause": None})
        self.assert_conflict(reply, f"Cannot 'pause' instance {busy.uuid} while it is in "
                                    "task_state rebooting")
        self.assertEqual(before, self.api.cell_snapshot())
        self.assertEqual([], self.api.compute.casts)

    async def test_a_server_being_scheduled(self):
        building = self.api.add_build_request()
        reply = await self.act(building, {"reboot": {"type": "HARD"}})
        self.assert_conflict(reply, f"Cannot 'reboot' instance {building.uuid} while it is "
                                    "in vm_state building")

    async def test_reboot(self):
        server = self.api.add_instance(host="compute1")
        self.assertEqual(202, (await self.act(server, {"reboot": {"type": "soft"}})).code)
        self.assertEqual(("reboot_instance", server.uuid, states.REBOOTING, (None, "SOFT")),
                         self.api.compute.casts[-1])
        stopped = self.api.add_instance(vm_state=states.STOPPED, host="compute1")
        self.assert_conflict(await self.act(stopped, {"reboot": {"type": "SOFT"}}),
                             f"Cannot 'reboot' instance {stopped.uuid} while it is in "
                             "vm_state stopped")
        self.assertEqual(202, (await self.act(stopped, {"reboot": {"type": "HARD"}})).code)
        self.assertEqual(states.REBOOTING_HARD, self.stored(stopped).task_state)
        # A hard reboot may follow a soft one that hangs.
        self.assertEqual(202, (await self.act(server, {"reboot": {"type": "HARD"}})).code)
        for body in ({"reboot": {"type": "WARM"}}, {"reboot": {}}, {"reboot": None}):
            self.assertEqual(400, (await self.act(server, body)).code, body)

    async def test_locked_server(self):
        server = self.api.add_instance(host="compute1", locked=True, locked_by="admin")
        self.assert_conflict(await self.act(server, {"os-stop": None}),
                             f"Instance {server.uuid} is locked")
        # An admin acts on a locked server.
        self.assertEqual(202, (await self.act(server, {"os-stop": None}, token=ADMIN)).code)

    async def test_lock_and_unlock(self):
        server = self.api.add_instance(host="compute1")
        reply = await self.act(server, {"lock": {"locked_reason": "maintenance"}},
                               microversion="2.73")
        self.assertEqual(202, reply.code, reply.json)
        stored = self.stored(server)
        self.assertEqual((True, "owner", "maintenance"),
                         (stored.locked, stored.locked_by,
                          stored.system_metadata.get("locked_reason")))
        shown = await self.api.request("GET", f"/v2.1/servers/{server.uuid}", token=DEMO,
                                       headers=version("2.73"))
        self.assertEqual((True, "maintenance"), (shown.json["server"]["locked"],
                                                 shown.json["server"]["locked_reason"]))
        # Before 2.73 the body is ignored; a reason is then a 400 only from 2.73 on.
        self.assertEqual(400, (await self.act(server, {"lock": {"reason": "x"}},
                                              microversion="2.73")).code)
        self.assertEqual(202, (await self.act(server, {"unlock": None})).code)
        stored = self.stored(server)
        self.assertEqual((False, None), (stored.locked, stored.locked_by))
        self.assertNotIn("locked_reason", stored.system_metadata)
        self.assertEqual(["lock", "unlock"], sorted(self.actions(server)))

    async def test_lock_and_unlock_notifications_like_the_samples(self):
        from tests.api.flavor_server import notification_sample
        from tests.api.test_server_notifications import resolved, shape

        server = self.api.add_instance(host="compute1")
        await self.act(server, {"lock": {"locked_reason": "maintenance"}},
                       microversion="2.73")
        await self.act(server, {"unlock": None})
        locked, unlocked = self.api.notifications()
        for sent, name, event in ((locked, "instance-lock-with-reason.json", "instance.lock"),
                                  (unlocked, "instance-unlock.json", "instance.unlock")):
            expected = resolved(notification_sample(name))["payload"]
            # The payload's object and fields (the sample's block device and address
            # lists are its own server's).
            self.assertEqual(
                (expected["nova_object.name"], expected["nova_object.version"],
                 sorted(expected["nova_object.data"])),
                (sent["payload"]["nova_object.name"], sent["payload"]["nova_object.version"],
                 sorted(sent["payload"]["nova_object.data"])), name)
            self.assertEqual(shape(expected["nova_object.data"]["flavor"]),
                             shape(sent["payload"]["nova_object.data"]["flavor"]))
            self.assertEqual((event, "INFO"), (sent["event_type"], sent["priority"]))
            self.assertTrue(sent["publisher_id"].startswith("nova-api:"))
        self.assertEqual((True, "maintenance"),
                         (locked["payload"]["nova_object.data"]["locked"],
                          locked["payload"]["nova_object.data"]["locked_reason"]))
        self.assertEqual((False, None),
                         (unlocked["payload"]["nova_object.data"]["locked"],
                          unlocked["payload"]["nova_object.data"]["locked_reason"]))

    async def test_an_admins_lock_needs_unlock_override(self):
        server = self.api.add_instance(host="compute1")
        self.assertEqual(202, (await self.act(server, {"lock": None},
                                              token=OTHER_ADMIN)).code)
        self.assertEqual("admin", self.stored(server).locked_by)
        self.assertEqual(403, (await self.act(server, {"unlock": None})).code)
        self.assertTrue(self.stored(server).locked)
        self.assertEqual(202, (await self.act(server, {"unlock": None}, token=ADMIN)).code)

    async def test_reset_state(self):
        server = self.api.add_instance(host="compute1", task_state=states.REBOOTING)
        self.assertEqual(403, (await self.act(server, {"os-resetState": {"state": "error"}})
                               ).code)
        reply = await self.act(server, {"os-resetState": {"state": "error"}}, token=ADMIN)
        self.assertEqual(202, reply.code)
        stored = self.stored(server)
        self.assertEqual((states.ERROR, None), (stored.vm_state, stored.task_state))
        self.assertEqual(400, (await self.act(server, {"os-resetState": {"state": "paused"}},
                                              token=ADMIN)).code)
        self.assertEqual(["resetState"], self.actions(server))

    async def test_console_output(self):
        server = self.api.add_instance(host="compute1")
        reply = await self.act(server, {"os-getConsoleOutput": {"length": 2}})
        self.assertEqual((200, {"output": "line 2\nline 3\n"}), (reply.code, reply.json))
        for length in (None, -1, "-1"):
            reply = await self.act(server, {"os-getConsoleOutput": {"length": length}})
            self.assertEqual("line 1\nline 2\nline 3\n", reply.json["output"], length)
        self.assertEqual("line 3\n", (await self.act(
            server, {"os-getConsoleOutput": {"length": "1"}})).json["output"])
        for length in ("x", -2, 1.5):
            self.assertEqual(400, (await self.act(
                server, {"os-getConsoleOutput": {"length": length}})).code, length)
        nowhere = self.api.add_instance()
        self.assert_conflict(await self.act(nowhere, {"os-getConsoleOutput": {}}),
                             f"Instance {nowhere.uuid} is not ready")

    async def test_other_project_and_unknown_server(self):
        server = self.api.add_instance(host="compute1")
        self.assertEqual(403, (await self.act(server, {"os-stop": None}, token=OTHER)).code)
        self.assertEqual(ACTIVE_AND_NO_TASK, (self.stored(server).vm_state,
                                              self.stored(server).task_state))
        missing = self.api.instance()
        self.assertEqual(404, (await self.act(missing, {"os-stop": None})).code)
        self.assertEqual(400, (await self.act(server, {"os-bogus": None})).code)


ACTIVE_AND_NO_TASK = (states.ACTIVE, None)


class ServerActionsPolicyMatrixTest(unittest.TestCase):
    """Who may run each action: the admin, a member and a reader of the owning project
    and a member of another project, with the old and the new defaults. A refusal is
    Nova's 403 naming the policy and changes nothing."""

    async def check(self, enforce_new_defaults: bool):
        from tests.api.policy_matrix import (
            ADMINS,
            MEMBERS,
            OWNER,
            OWNERS,
            PERSONAS,
            assert_decision,
            headers_of,
        )

        matrix = [
            ({"reboot": {"type": "SOFT"}}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:servers:reboot"),
            ({"os-stop": None}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:servers:stop"),
            ({"os-start": None}, states.STOPPED, OWNERS, MEMBERS,
             "os_compute_api:servers:start"),
            ({"pause": None}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:os-pause-server:pause"),
            ({"unpause": None}, states.PAUSED, OWNERS, MEMBERS,
             "os_compute_api:os-pause-server:unpause"),
            ({"suspend": None}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:os-suspend-server:suspend"),
            ({"resume": None}, states.SUSPENDED, OWNERS, MEMBERS,
             "os_compute_api:os-suspend-server:resume"),
            ({"lock": None}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:os-lock-server:lock"),
            ({"os-resetState": {"state": "error"}}, states.ACTIVE, ADMINS, ADMINS,
             "os_compute_api:os-admin-actions:reset_state"),
            ({"os-getConsoleOutput": {}}, states.ACTIVE, OWNERS, MEMBERS,
             "os_compute_api:os-console-output"),
        ]
        api = ActionsServer(self, enforce_new_defaults=enforce_new_defaults)
        for body, vm_state, old, new, rule in matrix:
            allowed = new if enforce_new_defaults else old
            for persona, (token, _) in PERSONAS.items():
                server = api.add_instance(project_id=OWNER, vm_state=vm_state,
                                          host="compute1")
                before = api.cell_snapshot()
                reply = await api.request("POST", f"/v2.1/servers/{server.uuid}/action",
                                          body=body, token=token,
                                          headers=headers_of(persona))
                assert_decision(self, reply, persona in allowed, rule,
                                (enforce_new_defaults, body, persona), before,
                                api.cell_snapshot)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)
