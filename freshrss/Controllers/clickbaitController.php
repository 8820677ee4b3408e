<?php
declare(strict_types=1);

/**
 * ?c=clickbait&a=label: the "Teaser" / "News" form under each entry (ClickbaitExtension::labelForm).
 * FreshRSS checks the CSRF token of every POST before any controller runs; a GET changes nothing.
 * The answer is always a redirect back to the stream, with a notification: the label sent (and the
 * entry marked), or why not (the entry as it was; the reason in the user's log as well).
 */
final class FreshExtension_clickbait_Controller extends FreshRSS_ActionController {

	public function labelAction(): void {
		if (!FreshRSS_Auth::hasAccess()) {
			Minz_Error::error(403);
			return;
		}
		$back = ClickbaitExtension::back(self::query(Minz_Request::paramString('back', true)));
		$extension = Minz_ExtensionManager::findExtension('Clickbait');
		if (!($extension instanceof ClickbaitExtension) || !$extension->isEnabled()) {
			Minz_Error::error(404);
			return;
		}
		$label = Minz_Request::paramString('label', true);
		$id = Minz_Request::paramString('id', true);
		if (!Minz_Request::isPost() || !in_array($label, ClickbaitExtension::LABELS, true) || !ctype_digit($id)) {
			Minz_Request::bad(_t('ext.clickbait.label_bad_request'), $back);
			return;
		}
		$back['params']['#'] = 'flux_' . $id;  // the entry, where the reader was
		$entry = FreshRSS_Factory::createEntryDao()->searchById($id);
		if ($entry === null) {
			Minz_Request::bad(_t('ext.clickbait.label_not_found'), $back);
			return;
		}
		$name = _t($label === 'clickbait' ? 'ext.clickbait.label_teaser' : 'ext.clickbait.label_news');
		$title = self::html(htmlspecialchars_decode($entry->title(), ENT_QUOTES));
		if (trim((string)$extension->setting('api_key')) === '') {
			Minz_Log::warning("Clickbait: not labelled $label, no API key is set: " . $entry->title());
			Minz_Request::bad(_t('ext.clickbait.label_needs_key', $name, $title), $back);
			return;
		}
		try {
			$headline = $extension->sendLabel($entry, $label);
		} catch (Throwable $e) {
			Minz_Log::warning("Clickbait: not labelled $label, the service failed (" . $e->getMessage() . '): ' . $entry->title());
			Minz_Request::bad(_t('ext.clickbait.label_failed', $name, $title, self::html($e->getMessage())), $back);
			return;
		}
		Minz_Request::good(_t('ext.clickbait.label_sent', $name, self::html($headline)), $back);
	}

	/** @return array<string,mixed> the parameters of a query string */
	private static function query(string $query): array {
		parse_str($query, $params);
		return $params;
	}

	/** Text for a notification, which FreshRSS shows as HTML. */
	private static function html(string $text): string {
		return htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
	}
}
