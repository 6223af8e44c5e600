from rules.helpers import fake_connectors, make_config, put, task

from collabhub.rules import RulesEngine

RULE = {
    "name": "eng-to-sales",
    "provider": "eng",
    "receivers": [{"department": "sales", "chats": {"feishu": "oc_sales"}}],
    "what": {"kinds": ["task"], "filter": 'status_category != "done"'},
    "fields": ["title", "due", "status_category", "url"],
    "deliver": [{"channel": "card", "connector": "feishu"}, {"channel": "task", "connector": "jira", "project": "SAL"}],
}


async def test_smoke(store, clock, remote):
    put(store, task(title="Ship it"), task(title="Secret", confidential=True))
    engine = RulesEngine(make_config([RULE]), store, clock=clock)
    result = engine.plan()
    print(result.as_dict())
    for item in result.outbox:
        print(item.channel, item.target, item.content)
    d = await engine.dispatch(fake_connectors(remote))
    print(d)
    print(remote.objects)
    r2 = engine.plan()
    print(r2.as_dict())


async def test_debug(store, clock, remote):
    put(store, task(title="Ship it"))
    engine = RulesEngine(make_config([RULE]), store, clock=clock)
    r = engine.plan()
    from collabhub.store.schema import checkpoints
    with store.engine.connect() as c:
        print(c.execute(checkpoints.select()).all())
    r2 = engine.plan()
    print([i.content["_meta"]["signature"] for i in r.outbox + r2.outbox if i.channel == "card"])
