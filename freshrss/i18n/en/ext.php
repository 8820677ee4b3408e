<?php

return [
	'clickbait' => [
		'intro' => 'As FreshRSS stores new entries, their feed’s titles are sent to the clickbait service (one request per refreshed feed). If the service cannot be reached, entries are stored as they came and the failure is written to your log.',
		'service_url' => 'Service URL',
		'service_url_help' => 'The clickbait service’s address, e.g. http://127.0.0.1:8000 (it must answer POST /v1/score and GET /info).',
		'api_key' => 'API key',
		'api_key_help' => 'Sent as “Authorization: Bearer …” when set; leave empty for a service that needs none.',
		'action' => 'What to do with clickbait',
		'action_read' => 'Mark it read',
		'action_label' => 'Label it',
		'action_prefix' => 'Prefix its title ([clickbait 0.93] …)',
		'label' => 'Label name',
		'label_help' => 'The label given to clickbait (created if missing; it picks up entries tagged #clickbait).',
		'act_unvalidated' => 'Also mark read clickbait in languages the model is not validated in',
		'act_unvalidated_help' => 'Off: such a score is a zero-shot guess, so the entry stays unread (labels and prefixes name it either way), as the service’s own feed filter keeps it.',
		'timeout' => 'Timeout per request (seconds)',
		'timeout_help' => 'A refresh waits at most this long for each request; after one failure, the rest of that refresh is not scored.',
	],
];
