"""How results present themselves (repr, HTML, to_dict, fields): the tables chapters print. The
numbers are the hand-derived economics of test_solvers.test_economics_by_hand."""
import json

import numpy as np
import pytest

import mlsysim
from mlsysim import Hardware


def economics(**kw):
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", Hardware.H100, 8), count=10)
    return mlsysim.EconomicsModel().solve(fleet, **{"duration_days": 365, "electricity_price": 0.10, "pue": 1.5,
                                                    "amortization_years": 4, "maintenance_fraction": 0.05,
                                                    "unit_price": 30_000, "power_fraction": 0.5, **kw})


def test_economics_table_by_hand():
    # 80 H100: capital 3.6M / 4 years = $900,000; energy 80 x (350 + 575) W x 1.5 x 8,760 h = 972,360 kWh
    # x $0.10 = $97,236; maintenance 5% of 3.6M = $180,000; facility power 74 kW x 1.5 = 111 kW;
    # France 56 g/kWh: 972,360 x 56 g = 54.45 t
    r = economics(region="france")
    assert repr(r) == "\n".join([
        "Total cost of ownership (fleet=f, accelerators=80, duration_days=365)",
        "  Total cost of ownership                       $1,177,236",
        "  Capital, amortised                            $900,000",
        "  Energy                                        $97,236",
        "  Maintenance                                   $180,000",
        "  Purchase price                                $3,600,000",
        "  Facility energy                               972,360 kWh",
        "  Facility power                                111 kW",
        "  Emissions                                     54.5 t CO2",
        "  Feasible                                      yes",
        "  Server share per accelerator                  $10,000  (source: nvidia2020dgxa100)",
        "  Network share per accelerator                 $5,000  (source: nvidia2023dgxh100)",
        "  Node power per accelerator, besides the chip  575 W  (source: nvidia2023dgxh100)",
        "  Grid carbon intensity                         56 gCO2/kWh  (source: ember2024review)"])
    assert r.sources() == {"server_overhead_per_accelerator": "nvidia2020dgxa100",
                           "network_cost_per_accelerator": "nvidia2023dgxh100",
                           "node_power_overhead_per_accelerator": "nvidia2023dgxh100",
                           "grid_carbon_intensity": "ember2024review"}
    assert r.assumptions["grid_carbon_intensity"][0] == 56


def test_economics_defaults_show_as_a_reader_reads_them():
    r = mlsysim.EconomicsModel().solve(mlsysim.Fleet("f", mlsysim.Node("n", Hardware.H100, 8), count=1), 30)
    rows = {row[0]: row[1:] for row in r._rows()}
    # a fraction as a percentage, a price in dollars, a period in years, each with its source
    assert rows["Maintenance per year, share of purchase price"] == ("5 %", "barroso2018datacenter")
    assert rows["Mean accelerator power, share of TDP"] == ("57.3 %", "patel2024splitwise")
    assert rows["Accelerator price"][0] == f"${Hardware.H100.unit_price.to('USD').m:,.0f}"
    assert rows["Amortisation period"] == ("5 years", "amazon2024tenk")
    assert rows["Power usage effectiveness (PUE)"] == ("1.58", "uptime2023survey")
    assert rows["Electricity price"][0].endswith(" USD/kWh")
    # dollars below one are not rounded to $0
    cheap = economics(duration_days=1e-4, unit_price=1.0)
    assert dict((row[0], row[1]) for row in cheap._rows())["Capital, amortised"].endswith(" USD")


def test_economics_sweep_rows_list_every_point():
    r = economics(duration_days=np.array([365.0, 730.0]))
    rows = dict((row[0], row[1]) for row in r._rows())
    assert rows["Capital, amortised"] == "900,000 .. 1,800,000 (2 points) USD"


def test_html_cites_the_sources_of_defaults():
    html = economics(region="france")._repr_html_()
    assert html.startswith("<table class='mlsysim-result'><caption>Total cost of ownership (fleet=f, accelerators=80, "
                           "duration_days=365)</caption>")
    assert "<th style='text-align:left'>source</th>" in html
    assert ("<td style='text-align:left'><cite class='citation' data-cites='ember2024review'>"
            "<a href='#ref-ember2024review'>ember2024review</a></cite></td>") in html
    assert "<th style='text-align:left'>Emissions</th><td style='text-align:right;white-space:nowrap'>54.5 t CO2</td>" \
           "<td style='text-align:left'></td>" in html
    # a result without sources has no source column
    plain = mlsysim.ServingModel().solve("Llama3_8B", "H100", 512)._repr_html_()
    assert "source" not in plain and "<th style='text-align:left'>Time to first token</th>" in plain
    assert "<caption>Serving: Llama3_8B on H100 (seq_len=512, batch_size=1, precision=fp16, tensor_parallel=1, " \
           "kv_precision=fp16)</caption>" in plain


def test_result_fields_dict_and_errors():
    r = mlsysim.ServingModel().solve("Llama3_8B", "H100", 512)
    assert r.field_names()[:3] == ["ttft", "itl", "throughput"] and r.field_names()[-2:] == ["feasible", "reasons"]
    assert {"ttft", "itl", "feasible"} <= set(dir(r))
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ttft"]["unit"] == "ms" and d["ttft"]["value"] == pytest.approx(r.ttft.to("ms").m)
    assert d["prefill_bottleneck"] == "Compute" and d["feasible"] is True and d["reasons"] == []
    assert r.seq_len == 512                                        # an input reads like a field
    with pytest.raises(AttributeError, match="has no field 'ttfb'; fields: ttft, itl"):
        r.ttfb
    sweep = mlsysim.ServingModel().solve("Llama3_8B", "H100", np.array([512, 1024]))
    assert sweep.to_dict()["ttft"]["value"] == pytest.approx(list(sweep.ttft.to("ms").m))
    assert sweep.to_dict()["feasible"] == [True, True]


def test_time_to_train_by_hand():
    # tokens / (tokens per second) / 86,400 s: 2,048 tokens per step x 86,400 steps at one step per second = 1 day
    from mlsysim.solvers.training.model import TrainingResult
    r = TrainingResult({"tokens_per_second": 2048.0}, feasible=True)
    assert r.time_to_train(2048 * 86400).to("day").m == pytest.approx(1.0, rel=1e-12)
    assert r.time_to_train(mlsysim.Q_(2048 * 43200, "token")).to("day").m == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(mlsysim.InputError) as info:
        r.time_to_train(mlsysim.Q_(1, "s"))
    assert info.value.parameter == "tokens"


def test_counts_read_in_words_not_si_prefixes():
    from mlsysim.core.format import format_value
    from mlsysim.core.units import Q_

    # 70,553,706,496 parameters / 1e9 = 70.55 -> 3 significant figures "70.6 billion";
    # 1.5e13 tokens / 1e12 = 15 -> "15 trillion tokens"; below a million, digits with commas
    assert format_value(Q_(70_553_706_496, "count").to("Gcount")) == "70.6 billion"
    assert format_value(Q_(1.5e13, "token").to("Gtoken")) == "15 trillion tokens"
    assert format_value(Q_(2.5e6, "token")) == "2.5 million tokens"
    assert format_value(Q_(4096, "token")) == "4,096 tokens"
    # a rate is not a count: it keeps its unit
    assert format_value(Q_(5, "token/s")) == "5 tok/s"
    budget = mlsysim.ComputeBudgetModel().solve(parameters=70e9, tokens=1.4e12)
    assert "Parameters" in repr(budget) and "70 billion" in repr(budget)
    assert "1.4 trillion tokens" in repr(budget)
