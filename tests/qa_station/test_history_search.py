"""The History page's search, on a real store: filters apply to the whole record, and the
newest-first limit only to what matches."""

from __future__ import annotations

from qa_station.store.models import Assembly
from qa_station.store.queries import search_assemblies
from tests.qa_station.gate_kit import TRUNK, make_kit

NEWER = 501  # more than the search's 500-row limit


def _old_rejected_then_many_newer(tmp_path):
    k = make_kit(tmp_path)
    identified, _ = k.gate.register(TRUNK, k.operator)
    k.gate.reject(identified.serial, k.supervisor, "the ferrule is cracked")
    k.clock.advance(60)
    base_us = round(k.clock() * 1e6)
    with k.store.write() as w:  # rows only: enough for a search, and quick to make
        for i in range(NEWER):
            w.session.add(
                Assembly(
                    serial=f"T12B-9{i:05d}",
                    product_id=identified.product.id,
                    part_number=None,
                    station_id="bench-t",
                    created_us=base_us + i,
                )
            )
    return k, identified.serial


def test_a_rejected_assembly_behind_500_newer_ones_is_found(tmp_path):
    k, serial = _old_rejected_then_many_newer(tmp_path)
    rows = search_assemblies(k.store, status="rejected")
    assert [(r.serial, r.status) for r in rows] == [(serial, "rejected")]
    assert len(search_assemblies(k.store, status="open")) == 500  # the limit still holds
    assert search_assemblies(k.store, status="accepted") == []


def test_an_operator_search_looks_past_the_newest_500(tmp_path):
    k, serial = _old_rejected_then_many_newer(tmp_path)
    assert [r.serial for r in search_assemblies(k.store, operator="sam")] == [serial]
    assert [r.serial for r in search_assemblies(k.store, operator="olga")] == [serial]
    assert search_assemblies(k.store, operator="nobody") == []
    assert search_assemblies(k.store, status="no such result") == []
