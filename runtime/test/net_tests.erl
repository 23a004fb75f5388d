%% @doc Pure (EUnit): the setup page `avmd_net' serves escapes what comes off the air and lists the scan.
-module(net_tests).
-include_lib("eunit/include/eunit.hrl").

html_escapes_markup_test() ->
    ?assertEqual(<<"&lt;b a=&quot;1&quot;&gt;x&amp;y&lt;/b&gt;">>, avmd_net:html(<<"<b a=\"1\">x&y</b>">>)).

page_lists_networks_escaped_test() ->
    Page = iolist_to_binary(avmd_net_setup:page(<<"Could not join <home>.">>,
                                                [#{ssid => <<"<script>">>, rssi => -50}, #{ssid => "cafe", rssi => -70}])),
    ?assertNotEqual(nomatch, binary:match(Page, <<"&lt;script&gt; (-50 dBm)">>)),
    ?assertNotEqual(nomatch, binary:match(Page, <<"cafe (-70 dBm)">>)),
    ?assertNotEqual(nomatch, binary:match(Page, <<"Could not join &lt;home&gt;.">>)),
    ?assertEqual(nomatch, binary:match(Page, <<"<script>">>)),
    ?assertNotEqual(nomatch, binary:match(Page, <<"<form method=post action=/save>">>)).
