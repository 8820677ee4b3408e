<?php
declare(strict_types=1);

/**
 * Clickbait: each entry FreshRSS is about to store (the `entry_before_insert` hook) has its title
 * scored by a clickbait classifier service (`POST /v1/score`), and clickbait is marked read,
 * labelled, or has its title prefixed, as the user chose on the configure page.
 *
 * The decision is the service's own: an entry is clickbait when `/v1/score` labels it with the
 * model's clickbait label (`GET /info`'s `labels[1]`). Each title goes with its entry's link and
 * authors and `rules: true`, so the service's site lists and rules file decide first, as they do on
 * every feed path (docs/feeds.md, "Rules"). Marking read hides an entry, so clickbait the model
 * scored in a language its calibration is not validated in (`validated: false`) stays unread unless
 * the user opts in, as the service's feed filter keeps it; a rule's decision is not held. Labels and
 * prefixes hide nothing and name every clickbait entry, as the service's annotations do.
 *
 * Batches: the hook sees one entry at a time, but `simplepie_before_init` hands over the feed's
 * parsed document just before its entries are stored, so the first entry of a refreshed feed sends
 * the titles of all the document's items in one request and the feed's other entries are looked up;
 * an entry not found there (another kind of feed, a title the batch was refused for) has its own.
 *
 * The service being down never costs an entry: the hook always hands the entry back, as it came
 * when it could not be scored, and writes the failure to the user's FreshRSS log. After one failure
 * the rest of that refresh (this PHP process) is not sent, so a refresh waits one timeout at most.
 *
 * Labels: in FreshRSS's own views (`entry_before_display`) each entry ends with a small form, "Teaser"
 * and "News", posted (with FreshRSS's CSRF token) to this extension's controller
 * (Controllers/clickbaitController.php). It sends the entry's title to the service's `POST /v1/labels`
 * with the user's API key, so the label is theirs (it teaches their personal layer, which then
 * decides the scores of their refreshes), misses included; then the entry gains the #clickbait tag
 * (and the user's label, where it exists) or loses them and any title prefix.
 */
final class ClickbaitExtension extends Minz_Extension {
	public const ACTIONS = ['read', 'label', 'prefix'];
	public const DEFAULTS = [
		'service_url' => 'http://127.0.0.1:8000',
		'api_key' => '',
		'action' => 'read',
		'act_unvalidated' => false,
		'timeout_s' => 5.0,
		'label' => 'Clickbait',
		'buttons' => true,
	];
	/** What the reader can say of an entry, as `POST /v1/labels` names it. */
	public const LABELS = ['clickbait', 'news'];
	/** The entry tag (#clickbait) that the label's own filter action picks up when FreshRSS commits. */
	public const TAG = 'clickbait';
	/** The service's default CLICKBAIT_MAX_CHARS: a longer title is cut, as its feed filter cuts one. */
	public const MAX_CHARS = 1000;
	/** Titles per request: under the service's default CLICKBAIT_MAX_HEADLINES (256). */
	public const BATCH = 100;
	/** The service's MAX_SOURCE_CHARS: a label's source (the entry's site) is cut there. */
	public const MAX_SOURCE = 255;
	/** The title prefix the 'prefix' action writes; a label sends and keeps the title without it. */
	public const PREFIX = '/^\[clickbait \d+(?:\.\d+)?\]\s+/';
	/** FreshRSS's views that show entries to their reader (not its API, RSS output or exports). */
	public const VIEWS = ['index', 'normal', 'reader', 'global'];
	/** The stream's query parameters a label's form hands back, to return to the same list. */
	public const BACK_PARAMS = ['get', 'state', 'search', 'order', 'sort'];

	/** @var array{clickbait:string,named_languages:bool}|null what GET /info said, once per process */
	private ?array $model = null;
	/** Why the service failed in this process; later entries pass without a request. */
	private ?string $down = null;
	private bool $labelReady = false;
	/** @var array{0:int,1:\SimplePie\SimplePie}|null the feed being refreshed: its id and parsed document */
	private ?array $document = null;
	/** @var array<string,array<string,mixed>> the service's answers in this process, by ``key()`` */
	private array $answers = [];

	#[\Override]
	public function init(): void {
		parent::init();
		$this->registerTranslates();
		$this->registerHook('simplepie_before_init', [$this, 'simplepieBeforeInit']);
		$this->registerHook('entry_before_insert', [$this, 'entryBeforeInsert']);
		$this->registerHook('entry_before_display', [$this, 'entryBeforeDisplay']);
		$this->registerController('clickbait');
	}

	/** FreshRSS refreshes feeds one after another: keep the latest one's document (parsed after this). */
	public function simplepieBeforeInit(\SimplePie\SimplePie $simplePie, FreshRSS_Feed $feed): void {
		$this->document = [$feed->id(), $simplePie];
	}

	#[\Override]
	public function handleConfigureAction(): void {
		parent::handleConfigureAction();
		$this->registerTranslates();
		if (!Minz_Request::isPost()) {
			return;
		}
		$action = Minz_Request::paramString('action', true);
		$timeout = (float)Minz_Request::paramString('timeout_s', true);
		$this->setUserConfiguration([
			'service_url' => rtrim(Minz_Request::paramString('service_url', true), '/') ?: self::DEFAULTS['service_url'],
			'api_key' => Minz_Request::paramString('api_key', true),
			'action' => in_array($action, self::ACTIONS, true) ? $action : self::DEFAULTS['action'],
			'act_unvalidated' => Minz_Request::paramBoolean('act_unvalidated'),
			'timeout_s' => $timeout > 0 ? min($timeout, 60.0) : self::DEFAULTS['timeout_s'],
			'label' => Minz_Request::paramString('label', true) ?: self::DEFAULTS['label'],
			'buttons' => Minz_Request::paramBoolean('buttons'),
		]);
		if ($this->setting('action') === 'label') {
			$this->ensureLabel();
		}
	}

	/** A setting of the current user, or its default. */
	public function setting(string $key): mixed {
		return $this->getUserConfigurationValue($key, self::DEFAULTS[$key]);
	}

	/** The hook: never returns null (that would drop the entry), whatever happens. */
	public function entryBeforeInsert(FreshRSS_Entry $entry): FreshRSS_Entry {
		try {
			$this->judge($entry);
		} catch (Throwable $e) {
			Minz_Log::warning('Clickbait: entry stored as it came, not judged (' . $e->getMessage() . '): ' . $entry->title());
		}
		return $entry;
	}

	/**
	 * The hook: in FreshRSS's views, the entry's content ends with the "Teaser" / "News" form. Never
	 * returns null (that would hide the entry), whatever happens.
	 */
	public function entryBeforeDisplay(FreshRSS_Entry $entry): FreshRSS_Entry {
		try {
			if ($this->setting('buttons') && FreshRSS_Auth::hasAccess() && Minz_Request::controllerName() === 'index'
				&& in_array(Minz_Request::actionName(), self::VIEWS, true) && ctype_digit($entry->id())) {
				$entry->_content($entry->content(false) . $this->labelForm($entry));
			}
		} catch (Throwable $e) {
			Minz_Log::warning('Clickbait: no label buttons (' . $e->getMessage() . '): ' . $entry->title());
		}
		return $entry;
	}

	/** The form under an entry: one POST to ?c=clickbait&a=label, its button naming the label. */
	private function labelForm(FreshRSS_Entry $entry): string {
		$e = static fn(string $v): string => htmlspecialchars($v, ENT_QUOTES, 'UTF-8');
		$current = Minz_Request::currentRequest();
		$back = self::back(['a' => $current['a']] + $current['params']);
		$back = http_build_query(['a' => $back['a']] + $back['params']);
		$buttons = '';
		foreach (['clickbait' => 'teaser', 'news' => 'news'] as $label => $name) {
			$buttons .= '<button type="submit" class="btn" name="label" value="' . $label . '" title="'
				. $e(_t("ext.clickbait.button_{$name}_help")) . '">' . $e(_t("ext.clickbait.button_{$name}")) . '</button> ';
		}
		return '<form class="clickbait-label" method="post" action="' . _url('clickbait', 'label') . '">'
			. '<input type="hidden" name="_csrf" value="' . $e(FreshRSS_Auth::csrfToken()) . '" />'
			. '<input type="hidden" name="id" value="' . $e($entry->id()) . '" />'
			. '<input type="hidden" name="back" value="' . $e($back) . '" />'
			. '<p>' . $e(_t('ext.clickbait.buttons_intro')) . ' ' . $buttons . '</p></form>';
	}

	/**
	 * Where a label's answer goes: the view and the stream it was given from (only the known
	 * parameters: never another site), FreshRSS's default view otherwise.
	 * @param array<string,mixed> $params
	 * @return array{c:string,a:string,params:array<string,string>}
	 */
	public static function back(array $params): array {
		$view = is_string($params['a'] ?? null) && in_array($params['a'], self::VIEWS, true) ? $params['a'] : 'index';
		$kept = [];
		foreach (self::BACK_PARAMS as $key) {
			if (is_scalar($params[$key] ?? null) && (string)$params[$key] !== '') {
				$kept[$key] = mb_substr((string)$params[$key], 0, 1000, 'UTF-8');
			}
		}
		return ['c' => 'index', 'a' => $view, 'params' => $kept];
	}

	/**
	 * The reader's label for ``$entry`` (`clickbait` or `news`), sent to `POST /v1/labels` with their
	 * API key; then the entry is marked as the label says. Returns the headline sent.
	 * @throws RuntimeException the service could not be reached or refused the label; nothing changed
	 */
	public function sendLabel(FreshRSS_Entry $entry, string $label): string {
		if (!in_array($label, self::LABELS, true)) {
			throw new InvalidArgumentException("not a label: $label");
		}
		$headline = self::scoredTitle((string)preg_replace(self::PREFIX, '', $entry->title()));  // as it was scored
		if ($headline === '') {
			throw new RuntimeException('the entry has no title');
		}
		$item = ['headline' => $headline, 'label' => $label];
		$source = self::site($entry);
		if ($source !== null) {
			$item['source'] = $source;
		}
		$this->request('POST', '/v1/labels', ['labels' => [$item]]);
		Minz_Log::notice("Clickbait: labelled $label at the service" . ($source !== null ? " ($source)" : '') . ": $headline");
		try {
			$this->mark($entry, $label === 'clickbait');
		} catch (Throwable $e) {  // the label is at the service: only the entry's look is behind
			Minz_Log::warning('Clickbait: the label was sent but the entry not marked (' . $e->getMessage() . '): ' . $headline);
		}
		return $headline;
	}

	/** Where an entry comes from, as the other label sources name it: its link's host (else its feed's site's). */
	private static function site(FreshRSS_Entry $entry): ?string {
		$feed = $entry->feed();
		foreach ([$entry->link(), $feed !== null ? $feed->website() : ''] as $url) {
			$host = parse_url(htmlspecialchars_decode($url, ENT_QUOTES), PHP_URL_HOST);
			if (is_string($host) && $host !== '') {
				return mb_substr(mb_strtolower($host, 'UTF-8'), 0, self::MAX_SOURCE, 'UTF-8');
			}
		}
		return null;
	}

	/**
	 * A teaser gains the #clickbait tag and the user's label (where it exists); news loses both and
	 * the title's prefix. The stored hash stays the feed's, so a refresh does not take it for an update.
	 */
	private function mark(FreshRSS_Entry $entry, bool $teaser): void {
		$tags = array_values(array_filter($entry->tags(), static fn(string $t) => strtolower($t) !== self::TAG));
		$title = $entry->title();
		if ($teaser) {
			$tags[] = self::TAG;
		} else {
			$title = (string)preg_replace(self::PREFIX, '', $title);
		}
		$entry->_tags($tags);
		if (!(new Clickbait_EntryMarks())->update($entry->id(), $title, $entry->tags(true))) {
			throw new RuntimeException('the entry could not be updated');
		}
		$name = trim((string)$this->setting('label')) ?: self::DEFAULTS['label'];
		$tagDAO = FreshRSS_Factory::createTagDao();
		$userLabel = $tagDAO->searchByName($name);
		if ($userLabel !== null) {
			$tagDAO->tagEntry($userLabel->id(), $entry->id(), $teaser);
		}
	}

	private function judge(FreshRSS_Entry $entry): void {
		$raw = $entry->title();
		$title = self::scoredTitle($raw);
		if ($title === '') {
			return;
		}
		$item = [  // FreshRSS keeps link and authors HTML-encoded; the service reads text
			'title' => $title,
			'link' => htmlspecialchars_decode($entry->link(), ENT_QUOTES),
			'author' => htmlspecialchars_decode(implode('; ', $entry->authors()), ENT_QUOTES),
		];
		$result = $this->score($item, $entry->feedId());
		if ($result === null || $this->model === null || ($result['label'] ?? null) !== $this->model['clickbait']) {
			return;
		}
		// where the model names validated languages, its score elsewhere is a zero-shot guess
		$byModel = ($result['decided_by'] ?? 'model') === 'model';
		$held = $byModel && ($result['validated'] ?? true) === false && $this->model['named_languages']
			&& !$this->setting('act_unvalidated');
		$hash = $entry->hash();  // of the entry as the feed gave it: a later refresh finds it unchanged
		switch ($this->setting('action')) {
			case 'label':
				$this->ensureLabel();
				$tags = $entry->tags();
				if (!in_array(self::TAG, array_map('strtolower', $tags), true)) {
					$entry->_tags([...$tags, self::TAG]);
				}
				break;
			case 'prefix':
				$entry->_title(sprintf('[clickbait %.2f] %s', (float)($result['score'] ?? 0), $raw));
				break;
			default:  // read
				if ($held) {
					Minz_Log::notice('Clickbait: left unread, scored in an unvalidated language ('
						. ($result['lang'] ?? '?') . '): ' . $title);
				} elseif ($entry->isRead() === false) {  // null: an updated entry keeps its state
					$entry->_isRead(true);
					Minz_ExtensionManager::callHook('entry_auto_read', $entry, 'clickbait');
				}
		}
		$entry->_hash($hash);
	}

	/** A title as it is scored: FreshRSS keeps its XML entities (&amp; &lt; &gt; &quot;); the service reads text. */
	private static function scoredTitle(string $stored): string {
		return mb_substr(trim(htmlspecialchars_decode($stored, ENT_QUOTES)), 0, self::MAX_CHARS, 'UTF-8');
	}

	/** An item as the service's rules read it: its title as scored, its link and its authors. */
	private static function key(array $item): string {
		return $item['title'] . "\x1f" . $item['link'] . "\x1f" . $item['author'];
	}

	/**
	 * The service's answer for one item (`score`, `label`, `lang`, `validated`, `decided_by`), or
	 * null when it could not be had: then the failure is logged and the entry goes on as it came.
	 * @param array{title:string,link:string,author:string} $item
	 * @return array<string,mixed>|null
	 */
	private function score(array $item, int $feedId): ?array {
		$title = $item['title'];
		if ($this->down === null) {
			try {
				if ($this->model === null) {
					$info = $this->request('GET', '/info', null);
					if (($info['ready'] ?? true) === false) {  // its labels and languages are not known yet
						throw new RuntimeException('the service has not loaded its model yet');
					}
					$labels = is_array($info['labels'] ?? null) ? $info['labels'] : ['news', 'clickbait'];
					$this->model = [
						'clickbait' => (string)($labels[1] ?? 'clickbait'),
						'named_languages' => !empty($info['languages']),
					];
				}
				$this->scoreFeed($feedId);
				$key = self::key($item);
				if (!isset($this->answers[$key])) {
					$this->scoreItems([$item]);
				}
				if (isset($this->answers[$key])) {
					return $this->answers[$key];
				}
				throw new RuntimeException('an answer without results');
			} catch (Clickbait_EntryRefused $e) {
				Minz_Log::warning('Clickbait: entry stored as it came, refused by the service ('
					. $e->getMessage() . '): ' . $title);
				return null;
			} catch (RuntimeException $e) {
				$this->down = $e->getMessage();
				Minz_Log::warning('Clickbait: the service at ' . $this->serviceUrl(true) . ' failed (' . $this->down
					. '); the entries of this refresh are stored as they came, unjudged');
			}
		}
		Minz_Log::warning('Clickbait: entry stored as it came, not judged (service unavailable: '
			. $this->down . '): ' . $title);
		return null;
	}

	/**
	 * Every item in the document of the feed being refreshed, in requests of BATCH, once: the feed's
	 * new entries then find their answers. A refused batch (a title too long for the service) leaves
	 * each entry to its own request.
	 */
	private function scoreFeed(int $feedId): void {
		if ($this->document === null || $this->document[0] !== $feedId) {
			return;
		}
		$items = $this->document[1]->get_items() ?? [];
		$this->document = null;
		$todo = [];
		foreach ($items as $found) {
			// title, link and authors as FreshRSS makes them for the entry (FreshRSS_Feed::loadEntries);
			// an entry whose own differ (an odd author name) is sent again on its own
			$authors = [];
			foreach ($found->get_authors() ?? [] as $author) {
				$name = $author->name != '' ? $author->name : $author->email;
				if (is_string($name) && $name !== '') {
					$authors[] = escapeToUnicodeAlternative(strip_tags($name), true);
				}
			}
			$item = [
				'title' => self::scoredTitle(html_only_entity_decode(strip_tags($found->get_title() ?? ''))),
				'link' => htmlspecialchars_decode((string)($found->get_permalink() ?? ''), ENT_QUOTES),
				'author' => implode('; ', $authors),
			];
			if ($item['title'] !== '' && !isset($this->answers[self::key($item)])) {
				$todo[self::key($item)] = $item;
			}
		}
		foreach (array_chunk(array_values($todo), self::BATCH) as $chunk) {
			try {
				$this->scoreItems($chunk);
			} catch (Clickbait_EntryRefused $e) {
				continue;
			}
		}
	}

	/**
	 * One request for ``$items``; each answer is kept under its item's key.
	 * @param list<array{title:string,link:string,author:string}> $items
	 */
	private function scoreItems(array $items): void {
		$answer = $this->request('POST', '/v1/score', [
			'headlines' => array_column($items, 'title'),
			'rules' => true,
			'links' => array_map(static fn(array $i) => $i['link'] !== '' ? $i['link'] : null, $items),
			'authors' => array_map(static fn(array $i) => $i['author'] !== '' ? $i['author'] : null, $items),
		]);
		$results = is_array($answer['results'] ?? null) ? array_values($answer['results']) : [];
		foreach ($items as $i => $item) {
			if (is_array($results[$i] ?? null)) {
				$this->answers[self::key($item)] = $results[$i];
			}
		}
	}

	/**
	 * @param array<string,mixed>|null $body
	 * @return array<string,mixed>
	 * @throws RuntimeException the service could not be reached or answered an error
	 */
	private function request(string $method, string $path, ?array $body): array {
		$curl = curl_init($this->serviceUrl(false) . $path);
		if ($curl === false) {
			throw new RuntimeException('curl could not start');
		}
		$ms = (int)round(max(0.1, (float)$this->setting('timeout_s')) * 1000);
		$headers = ['Accept: application/json'];
		$key = trim((string)$this->setting('api_key'));
		if ($key !== '') {
			$headers[] = 'Authorization: Bearer ' . $key;
		}
		$options = [
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_CONNECTTIMEOUT_MS => $ms,
			CURLOPT_TIMEOUT_MS => $ms,
			CURLOPT_NOSIGNAL => true,
			CURLOPT_FOLLOWLOCATION => false,
			CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
			CURLOPT_USERAGENT => 'FreshRSS-Clickbait/' . $this->getVersion(),
		];
		if ($method === 'POST') {
			$headers[] = 'Content-Type: application/json';
			$options[CURLOPT_POST] = true;
			$options[CURLOPT_POSTFIELDS] = json_encode($body, JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR);
		}
		$options[CURLOPT_HTTPHEADER] = $headers;
		curl_setopt_array($curl, $options);
		$text = curl_exec($curl);
		$status = (int)curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
		$error = curl_error($curl);
		curl_close($curl);
		if (!is_string($text)) {
			throw new RuntimeException($error !== '' ? $error : 'no answer');
		}
		$data = json_decode($text, true);
		if ($status !== 200) {
			$why = is_array($data) && isset($data['error_type'])
				? $data['error_type'] . ': ' . (is_string($data['error'] ?? null) ? $data['error'] : '')
				: mb_substr(trim(strip_tags($text)), 0, 200, 'UTF-8');
			$message = "HTTP $status from $path" . ($why !== '' ? " ($why)" : '');
			// the titles themselves were refused (too long, too many): the next entry may still be scored
			throw (in_array($status, [413, 422], true) ? new Clickbait_EntryRefused($message) : new RuntimeException($message));
		}
		if (!is_array($data)) {
			throw new RuntimeException("$path did not answer JSON");
		}
		return $data;
	}

	/** The configured service URL; for the log, without any user name or password in it. */
	private function serviceUrl(bool $forLog): string {
		$url = rtrim(trim((string)$this->setting('service_url')), '/');
		return $forLog ? (string)preg_replace('#^([a-z][a-z0-9+.-]*://)[^/@]*@#i', '$1', $url) : $url;
	}

	/**
	 * The user's label for clickbait, with a filter action that labels entries tagged #clickbait:
	 * FreshRSS applies it itself when it commits new entries (their ids are only final then).
	 */
	private function ensureLabel(): void {
		if ($this->labelReady) {
			return;
		}
		$this->labelReady = true;
		$name = trim((string)$this->setting('label')) ?: self::DEFAULTS['label'];
		$search = '#' . self::TAG;
		$tagDAO = FreshRSS_Factory::createTagDao();
		$label = $tagDAO->searchByName($name);
		if ($label === null) {
			$label = new FreshRSS_Tag($name);
			$label->_filtersAction('label', [$search]);
			if ($tagDAO->addTagObject($label) === false) {
				Minz_Log::warning("Clickbait: could not create the label “{$name}” (a category of that name?)");
				return;
			}
		} else {
			$searches = array_map(static fn(FreshRSS_BooleanSearch $s) => $s->getRawInput(), $label->filtersAction('label'));
			if (in_array($search, $searches, true)) {
				return;
			}
			$label->_filtersAction('label', [...$searches, $search]);
			$tagDAO->updateTagAttributes($label->id(), $label->attributes());
		}
		// FreshRSS_Context caches the labels for the process: forget them so the commit sees this one
		try {
			Closure::bind(static function (): void {
				self::$tags = [];
			}, null, FreshRSS_Context::class)();
		} catch (Error $e) {  // another FreshRSS: the label catches entries from the next refresh on
			Minz_Log::notice('Clickbait: ' . $e->getMessage());
		}
	}
}

/** A reader's label on a stored entry: its title and tags only (FreshRSS's updateEntry writes every column). */
final class Clickbait_EntryMarks extends Minz_ModelPdo {
	public function update(string $id, string $title, string $tags): bool {
		$statement = $this->pdo->prepare('UPDATE `_entry` SET title=:title, tags=:tags WHERE id=:id');
		return $statement !== false && $statement->execute([':title' => $title, ':tags' => $tags, ':id' => $id]);
	}
}

/** The service refused the titles sent (HTTP 413, 422): those are not judged, the next ones still are. */
final class Clickbait_EntryRefused extends RuntimeException {
}
